import FreshetIndex
import XCTest

/// Every kernel at every SIMD level this CPU supports, against a double-precision
/// scalar reference, on random and edge-case inputs.
extension SplitMix64 {
    /// Uniform in [-2, 2).
    mutating func float() -> Float { Float(Int64(next() >> 41) - (1 << 22)) / Float(1 << 21) }
}

final class KernelTests: XCTestCase {
    typealias Random = SplitMix64

    let dimensions = [0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 100, 128, 129, 768, 10_752]

    func testLevelsAreDetected() {
        XCTAssertTrue(KernelLevel.supported.contains(.scalar))
        XCTAssertTrue(KernelLevel.best.isSupported)
        XCTAssertEqual(KernelLevel.supported.last, KernelLevel.best)
        print("kernel levels on this CPU: \(KernelLevel.supported), best \(KernelLevel.best)")
    }

    func testFloatKernelsMatchTheReference() throws {
        var random = Random(state: 1)
        for level in KernelLevel.supported {
            let kernels = Kernels(level: level)
            for n in dimensions {
                let a = (0..<n).map { _ in random.float() }, b = (0..<n).map { _ in random.float() }
                var l2 = 0.0, dot = 0.0, norm = 0.0
                for i in 0..<n {
                    l2 += Double(a[i] - b[i]) * Double(a[i] - b[i])
                    dot += Double(a[i]) * Double(b[i])
                    norm += Double(b[i]) * Double(b[i])
                }
                let tolerance = 1e-5 * Double(max(n, 1))
                XCTAssertEqual(Double(try kernels.l2Squared(a, b)), l2, accuracy: tolerance, "\(level) l2 n=\(n)")
                let pair = try kernels.dotAndNorm(a, b)
                XCTAssertEqual(Double(pair.dot), dot, accuracy: tolerance, "\(level) dot n=\(n)")
                XCTAssertEqual(Double(pair.norm), norm, accuracy: tolerance, "\(level) norm n=\(n)")
                XCTAssertEqual(Double(try kernels.dot(a, b)), dot, accuracy: tolerance)
                // 11 rows: two passes of the four-row batch kernels and a remainder.
                let rows = (0..<11).flatMap { _ in (0..<n).map { _ in random.float() } }
                if n > 0 {
                    let batch = try kernels.l2Squared(a, rows: rows, dimensions: n)
                    for r in 0..<11 {
                        // Bit for bit: a batch sums each row in the single kernel's order.
                        XCTAssertEqual(batch[r], try kernels.l2Squared(a, Array(rows[(r * n)..<((r + 1) * n)])), "\(level) batch row \(r) n=\(n)")
                    }
                }
            }
        }
    }

    func testEdgeCases() throws {
        for level in KernelLevel.supported {
            let kernels = Kernels(level: level)
            let zeros = [Float](repeating: 0, count: 33)
            XCTAssertEqual(try kernels.l2Squared(zeros, zeros), 0)
            XCTAssertEqual(try kernels.cosineDistance(zeros, zeros.map { $0 + 1 }), 1, "a zero vector has cosine distance 1")
            XCTAssertEqual(try kernels.cosineDistance([1, 2, 3], [2, 4, 6]), 0, accuracy: 1e-6)
            XCTAssertEqual(try kernels.cosineDistance([1, 0], [-1, 0]), 2, accuracy: 1e-6)
            var withNaN = [Float](repeating: 1, count: 40)
            withNaN[37] = .nan
            XCTAssertTrue(try kernels.l2Squared(withNaN, zeros + [Float](repeating: 0, count: 7)).isNaN, "\(level): NaN propagates")
            XCTAssertTrue(try kernels.dotAndNorm(zeros + [Float](repeating: 0, count: 7), withNaN).dot.isNaN, "\(level): NaN propagates")
            XCTAssertThrowsError(try kernels.l2Squared([Float(1), 2], [Float(1), 2, 3])) { XCTAssertTrue("\($0)".contains("2 vs 3")) }
        }
    }

    func testHalfPrecisionConversionAndKernels() throws {
        // The portable conversion agrees with Swift's Float16 for every bit pattern.
        for bits in UInt16.min...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let converted = Kernels.float(half: bits)
            if expected.isNaN { XCTAssertTrue(converted.isNaN); continue }
            XCTAssertEqual(converted.bitPattern, expected.bitPattern, "half \(bits)")
        }
        var random = Random(state: 2)
        for _ in 0..<100_000 {
            let value = random.float() * Float(1 << (random.next() % 20))
            XCTAssertEqual(Kernels.half(value), Float16(value).bitPattern, "\(value)")
        }
        for level in KernelLevel.supported {
            let kernels = Kernels(level: level)
            for n in dimensions {
                let a = (0..<n).map { _ in random.float() }
                let b = (0..<n).map { _ in Kernels.half(random.float()) }
                let bf = b.map { Kernels.float(half: $0) }
                XCTAssertEqual(try kernels.l2Squared(a, halves: b), try Kernels(level: .scalar).l2Squared(a, bf), accuracy: 1e-4 * Float(max(n, 1)), "\(level) f16 l2 n=\(n)")
                let ah = a.map { Kernels.half($0) }
                let both = try Kernels(level: .scalar).l2Squared(ah.map { Kernels.float(half: $0) }, bf)
                XCTAssertEqual(try kernels.l2Squared(halves: ah, halves: b), both, accuracy: 1e-4 * Float(max(n, 1)), "\(level) f16×f16 l2 n=\(n)")
                let pair = try kernels.dotAndNorm(a, halves: b), reference = try Kernels(level: .scalar).dotAndNorm(a, bf)
                XCTAssertEqual(pair.dot, reference.dot, accuracy: 1e-4 * Float(max(n, 1)), "\(level) f16 dot n=\(n)")
                XCTAssertEqual(pair.norm, reference.norm, accuracy: 1e-4 * Float(max(n, 1)), "\(level) f16 norm n=\(n)")
                // 11 rows: two four-row passes and a remainder, each row bit for bit
                // the single kernel's answer.
                guard n > 0 else { continue }
                let rows = (0..<(11 * n)).map { _ in Kernels.half(random.float()) }
                let batch = try kernels.l2Squared(a, halfRows: rows, dimensions: n)
                for r in 0..<11 {
                    let single = try kernels.l2Squared(a, halves: Array(rows[(r * n)..<((r + 1) * n)]))
                    XCTAssertEqual(batch[r].bitPattern, single.bitPattern, "\(level) f16 batch row \(r) n=\(n)")
                }
            }
        }
    }

    /// Scaled int8 rows (the head index's quantized copy) against the scalar formula
    /// Σ (q − s·c)², at every level, for every length, including the extremes ±127 and
    /// -128, a zero scale, and a row count that leaves a remainder after four-row passes.
    func testScaledInt8RowsMatchTheScalarFormula() throws {
        var random = Random(state: 11)
        for level in KernelLevel.supported {
            let kernels = Kernels(level: level)
            for n in dimensions where n > 0 {
                let query = (0..<n).map { _ in random.float() * 4 - 2 }
                let rows = 11
                var codes = (0..<(rows * n)).map { _ in Int8(truncatingIfNeeded: random.next()) }
                codes[0] = -128
                codes[codes.count - 1] = 127
                var scales = (0..<rows).map { _ in random.float() / 64 }
                scales[3] = 0
                let batch = try kernels.l2Squared(query, codes: codes, scales: scales, dimensions: n)
                for r in 0..<rows {
                    var reference: Double = 0
                    for i in 0..<n {
                        let d = Double(query[i]) - Double(scales[r]) * Double(codes[r * n + i])
                        reference += d * d
                    }
                    XCTAssertEqual(Double(batch[r]), reference, accuracy: 1e-5 * max(reference, 1), "\(level) i8s row \(r) n=\(n)")
                }
            }
            XCTAssertThrowsError(try kernels.l2Squared([1, 2], codes: [1, 2, 3], scales: [1], dimensions: 2))
        }
    }

    func testInt8KernelsAreExactIncludingExtremesAndLongVectors() throws {
        var random = Random(state: 3)
        for level in KernelLevel.supported {
            let kernels = Kernels(level: level)
            for n in dimensions + [100_003] {
                let a = (0..<n).map { _ in Int8(truncatingIfNeeded: random.next()) }
                let b = (0..<n).map { _ in Int8(truncatingIfNeeded: random.next()) }
                var dot: Int64 = 0, l2: Int64 = 0
                for i in 0..<n {
                    dot += Int64(a[i]) * Int64(b[i])
                    l2 += (Int64(a[i]) - Int64(b[i])) * (Int64(a[i]) - Int64(b[i]))
                }
                XCTAssertEqual(try kernels.dot(a, b), dot, "\(level) i8 dot n=\(n)")
                XCTAssertEqual(try kernels.l2Squared(a, b), l2, "\(level) i8 l2 n=\(n)")
            }
            let extreme = [Int8](repeating: -128, count: 70_000), opposite = [Int8](repeating: 127, count: 70_000)
            XCTAssertEqual(try kernels.dot(extreme, extreme), 70_000 * 16_384, "\(level): no overflow at the extremes")
            XCTAssertEqual(try kernels.l2Squared(extreme, opposite), 70_000 * 65_025, "\(level): no overflow at the extremes")
        }
    }

    func testKernelsAreSafeFromManyThreads() async throws {
        let kernels = Kernels.best
        let a = (0..<768).map { Float($0) / 768 }, b = (0..<768).map { Float(768 - $0) / 768 }
        let expected = try kernels.l2Squared(a, b)
        try await withThrowingTaskGroup(of: Float.self) { group in
            for _ in 0..<16 { group.addTask { try kernels.l2Squared(a, b) } }
            for try await value in group { XCTAssertEqual(value, expected) }
        }
    }
}

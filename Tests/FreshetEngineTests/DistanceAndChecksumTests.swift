@testable import FreshetEngine
import FreshetStorage
import XCTest

final class DistanceAndChecksumTests: XCTestCase {
    func testDistancesMatchAScalarReferenceAtOddDimensions() {
        var random = SeededRandom(seed: 17)
        for dimensions in [1, 2, 7, 8, 15, 16, 17, 31, 128, 129, 768, 10_752] {
            let a = (0..<dimensions).map { _ in Float(Int(random.next() % 2001) - 1000) / 250 }
            let b = (0..<dimensions).map { _ in Float(Int(random.next() % 2001) - 1000) / 250 }
            var l2 = 0.0, dot = 0.0, na = 0.0, nb = 0.0
            for i in 0..<dimensions {
                let d = Double(a[i]) - Double(b[i])
                l2 += d * d
                dot += Double(a[i]) * Double(b[i])
                na += Double(a[i]) * Double(a[i])
                nb += Double(b[i]) * Double(b[i])
            }
            let tolerance = 1e-4 * Double(dimensions).squareRoot()
            XCTAssertEqual(Double(DistanceMetric.euclideanSquared.distance(a, b)), l2, accuracy: tolerance * max(1, l2), "dims \(dimensions)")
            let cosine = na > 0 && nb > 0 ? 1 - dot / (na * nb).squareRoot() : 1
            XCTAssertEqual(Double(DistanceMetric.cosineDistance.distance(a, b)), cosine, accuracy: 1e-4, "dims \(dimensions)")
        }
        // A zero vector has no direction: cosine distance 1 by convention, never NaN.
        XCTAssertEqual(DistanceMetric.cosineDistance.distance([0, 0, 0], [1, 2, 3]), 1)
    }

    func testCRC32MatchesTheStandardCheckValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)[...]), 0xCBF4_3926)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        // Slicing-by-8 must agree with itself across alignments and lengths.
        var bytewise: UInt32 = 0xFFFF_FFFF
        for byte in long {
            bytewise ^= UInt32(byte)
            for _ in 0..<8 { bytewise = bytewise & 1 == 1 ? (bytewise >> 1) ^ 0xEDB8_8320 : bytewise >> 1 }
        }
        XCTAssertEqual(CRC32.checksum(long[...]), bytewise ^ 0xFFFF_FFFF)
        XCTAssertEqual(CRC32.checksum(long[3...]), CRC32.checksum(Array(long[3...])[...]))
    }
}

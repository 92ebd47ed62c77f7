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

    func testCRC32CMatchesTheStandardCheckValueOnBothPaths() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)[...]), 0xE306_9283)
        XCTAssertEqual(CRC32C.portableChecksum(Array("123456789".utf8)[...]), 0xE306_9283)
        let long = (0..<1003).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 3) }
        // A bit-at-a-time reference, then the hardware and table paths at every alignment.
        var bitwise: UInt32 = 0xFFFF_FFFF
        for byte in long {
            bitwise ^= UInt32(byte)
            for _ in 0..<8 { bitwise = bitwise & 1 == 1 ? (bitwise >> 1) ^ 0x82F6_3B78 : bitwise >> 1 }
        }
        XCTAssertEqual(CRC32C.checksum(long[...]), bitwise ^ 0xFFFF_FFFF)
        for start in 0..<9 {
            XCTAssertEqual(CRC32C.checksum(long[start...]), CRC32C.portableChecksum(long[start...]), "offset \(start)")
        }
        XCTAssertEqual(CRC32C.checksum([][...]), 0)
        // Long inputs run three interleaved chains over 8 KiB and 256-byte blocks and
        // join them: lengths around each block multiple, and odd tails.
        var random = SystemRandomNumberGenerator()
        let big = (0..<80_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        for length in [767, 768, 769, 775, 1_536, 24_575, 24_576, 24_577, 24_576 + 768 + 13, 49_152 + 5_000, 80_000] {
            for start in [0, 3] where start + length <= big.count {
                let slice = big[start..<(start + length)]
                XCTAssertEqual(CRC32C.checksum(slice), CRC32C.portableChecksum(slice), "length \(length) at \(start)")
            }
        }
        print("CRC-32C on the hardware instruction: \(CRC32C.usesHardware)")
    }
}

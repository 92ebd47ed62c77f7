import XCTest
@testable import FreshetIndex

final class OrdinalBitmapTests: XCTestCase {
    /// Every operation against Set<UInt32>, across sparse (array) and dense (bits)
    /// containers and the conversions between them.
    func testOperationsMatchASet() {
        var random = SplitMix64(state: 17)
        func randomSet(dense: Bool) -> Set<UInt32> {
            var set = Set<UInt32>()
            let count = dense ? 9000 : Int(random.next() % 3000)
            for _ in 0..<count {
                let high = UInt32(random.next() % 3) << 16
                set.insert(high | UInt32(random.next() % (dense ? 12_000 : 65_536)))
            }
            return set
        }
        for trial in 0..<40 {
            let a = randomSet(dense: trial % 2 == 0), b = randomSet(dense: trial % 3 == 0)
            var x = OrdinalBitmap(a), y = OrdinalBitmap(b)
            XCTAssertEqual(x.count, a.count)
            XCTAssertEqual(Set(x.ordinals), a)
            XCTAssertEqual(x.ordinals, x.ordinals.sorted())
            XCTAssertEqual(Set(x.union(y).ordinals), a.union(b))
            let c = randomSet(dense: false)
            XCTAssertEqual(OrdinalBitmap.union([x, y, OrdinalBitmap(c)]), x.union(y).union(OrdinalBitmap(c)), "the bulk union")
            XCTAssertEqual(Set(x.intersection(y).ordinals), a.intersection(b))
            XCTAssertEqual(Set(x.subtracting(y).ordinals), a.subtracting(b))
            for probe in (0..<200).map({ _ in UInt32(random.next() % (3 << 16)) }) {
                XCTAssertEqual(x.contains(probe), a.contains(probe))
            }
            // Remove most of a dense set (bits → array) and add back (array → bits).
            var expected = a
            for value in a.prefix(a.count * 3 / 4) { XCTAssertTrue(x.remove(value)); expected.remove(value) }
            XCTAssertFalse(x.remove(UInt32.max))
            XCTAssertEqual(Set(x.ordinals), expected)
            for value in b { XCTAssertEqual(x.insert(value), expected.insert(value).inserted) }
            XCTAssertEqual(Set(x.ordinals), expected)
            XCTAssertEqual(x.count, expected.count)
            y = OrdinalBitmap()
            XCTAssertTrue(y.isEmpty)
        }
    }
}

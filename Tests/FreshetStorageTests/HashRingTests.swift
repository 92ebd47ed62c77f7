import FreshetStorage
import XCTest

final class HashRingTests: XCTestCase {
    func testAddingAShardMovesAboutOneNthOfTheKeysAllToTheNewShard() {
        let keys = (0..<20_000).map { "ns/products/wal/\($0)" }
        let four = HashRing(members: ["a", "b", "c", "d"])
        let five = HashRing(members: ["a", "b", "c", "d", "e"])
        var moved = 0
        for key in keys {
            let before = four.members[four.owner(of: key)]
            let after = five.members[five.owner(of: key)]
            if before != after {
                moved += 1
                XCTAssertEqual(after, "e", "key \(key) moved from \(before) to \(after), not to the new shard")
            }
        }
        let fraction = Double(moved) / Double(keys.count)
        // Ideal is 1/5 = 0.20; 160 virtual nodes keep it within a few points.
        XCTAssertEqual(fraction, 0.2, accuracy: 0.05, "moved fraction \(fraction), expected about 1/5")
    }

    func testLoadIsBalanced() {
        let ring = HashRing(members: (0..<8).map { "shard-\($0)" })
        var counts = [Int](repeating: 0, count: 8)
        for index in 0..<40_000 { counts[ring.owner(of: "key-\(index)")] += 1 }
        for count in counts {
            XCTAssertEqual(Double(count), 5000, accuracy: 1000, "shard loads \(counts) are not balanced within 20%")
        }
    }

    func testShardedBackendRoutesEachKeyToOneShard() async throws {
        let shards = (0..<3).map { (name: "s\($0)", backend: MemoryBackend()) }
        let sharded = ShardedBackend(shards: shards.map { ($0.name, $0.backend as any StorageBackend) })
        for index in 0..<300 { try await sharded.put("k\(index)", [UInt8(index % 256)]) }
        let perShard = shards.map { $0.backend.storedBytes }
        XCTAssertEqual(perShard.reduce(0, +), 300)
        XCTAssertTrue(perShard.allSatisfy { $0 > 50 }, "keys not spread: \(perShard)")
        let listed = try await sharded.listAll(prefix: "k", pageSize: 7)
        XCTAssertEqual(listed.count, 300)
        XCTAssertEqual(listed.map(\.key), listed.map(\.key).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }
}

import FreshetIndex
import XCTest

final class VectorArenaTests: XCTestCase {
    func bruteForce(_ vectors: [Int: [Float]], _ query: [Float], k: Int, cosine: Bool) -> [Int] {
        let kernels = Kernels(level: .scalar)
        var scored: [(id: Int, distance: Float)] = []
        for (id, v) in vectors {
            let distance: Float = cosine ? try! kernels.cosineDistance(query, v) : try! kernels.l2Squared(query, v)
            scored.append((id, distance))
        }
        scored.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.id < $1.id }
        return scored.prefix(k).map(\.id)
    }

    func testNearestMatchesBruteForceThroughInsertsReplacementsAndDeletes() {
        var state: UInt64 = 9
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000
        }
        let dimensions = 19
        var arena = VectorArena<Int>(dimensions: dimensions)
        var truth: [Int: [Float]] = [:]
        for id in 0..<3000 {
            let v = (0..<dimensions).map { _ in next() }
            arena.set(id, v)
            truth[id] = v
        }
        for id in stride(from: 0, to: 3000, by: 3) {
            arena.remove(id)
            truth[id] = nil
        }
        for id in stride(from: 1, to: 3000, by: 7) {
            let v = (0..<dimensions).map { _ in next() }
            arena.set(id, v)
            truth[id] = v
        }
        for id in 5000..<5500 {  // reuses freed slots
            let v = (0..<dimensions).map { _ in next() }
            arena.set(id, v)
            truth[id] = v
        }
        XCTAssertEqual(arena.count, truth.count)
        XCTAssertEqual(arena.vector(of: 1), truth[1])
        XCTAssertNil(arena.vector(of: 3))
        for _ in 0..<20 {
            let query = (0..<dimensions).map { _ in next() }
            for cosine in [false, true] {
                let got = arena.nearest(to: query, k: 10, metric: cosine ? .cosine : .euclideanSquared, tieBreak: <).map(\.id)
                XCTAssertEqual(got, bruteForce(truth, query, k: 10, cosine: cosine), "cosine=\(cosine)")
            }
            let even = arena.nearest(to: query, k: 5, metric: .euclideanSquared, accept: { $0 % 2 == 0 }, tieBreak: <).map(\.id)
            XCTAssertEqual(even, bruteForce(truth.filter { $0.key % 2 == 0 }, query, k: 5, cosine: false))
        }
    }

    func testACopyKeepsItsViewWhileTheOriginalChanges() {
        var arena = VectorArena<String>(dimensions: 2)
        arena.set("a", [0, 0])
        arena.set("b", [5, 5])
        let snapshot = arena
        arena.set("a", [9, 9])
        arena.remove("b")
        XCTAssertEqual(snapshot.vector(of: "a"), [0, 0])
        XCTAssertEqual(snapshot.nearest(to: [0, 0], k: 2, metric: .euclideanSquared, tieBreak: <).map(\.id), ["a", "b"])
        XCTAssertEqual(arena.nearest(to: [0, 0], k: 2, metric: .euclideanSquared, tieBreak: <).map(\.id), ["a"])
    }
}

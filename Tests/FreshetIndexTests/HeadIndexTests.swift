@testable import FreshetIndex
import XCTest

final class HeadIndexTests: XCTestCase {
    func testTreeSearchFindsWhatAFlatScanFindsThroughUpdates() {
        var random = SplitMix64(state: 5)
        func vector() -> [Float] { (0..<16).map { _ in random.float() * 4 } }
        var tree = HeadIndex(dimensions: 16, flatLimit: 200, coarseProbe: 8)
        var flat = Matrix(dimensions: 16)
        for _ in 0..<1500 {
            let v = vector()
            tree.append(v)
            flat.append(v)
        }
        XCTAssertTrue(tree.isTree, "past the flat limit the heads must be indexed by the tree")
        // Moves and removals keep every head findable by its own vector.
        for head in stride(from: 0, to: 1500, by: 7) {
            let v = vector()
            tree.set(head, v)
            flat.set(head, v)
        }
        for head in stride(from: 1400, to: 1300, by: -9) {
            tree.swapRemove(head)
            let last = flat.count - 1
            if head != last { flat.set(head, flat.row(last)) }
            flat.removeLast()
        }
        XCTAssertEqual(tree.count, flat.count)
        for head in stride(from: 0, to: tree.count, by: 13) {
            XCTAssertEqual(tree.nearest(to: flat.row(head), n: 1, kernels: .best).first?.index, head, "head \(head) not found by its own vector")
        }
        var overlap = 0.0
        for _ in 0..<50 {
            let query = vector()
            let truth = Set(flat.nearest(to: query, n: 10).map(\.index))
            overlap += Double(tree.nearest(to: query, n: 10, kernels: .best).filter { truth.contains($0.index) }.count) / 10
        }
        XCTAssertGreaterThanOrEqual(overlap / 50, 0.8, "tree head search recall@10 vs a flat scan: \(overlap / 50)")
    }
}

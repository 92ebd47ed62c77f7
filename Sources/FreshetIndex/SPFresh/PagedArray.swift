/// An array stored in fixed-size pages, so a copy shares every page and a write to a
/// copy duplicates one page (4,096 elements) plus the short page list — never the
/// whole array. Queries keep a copy of the index's per-slot tables this way while
/// writers go on.
public struct PagedArray<Element: Sendable>: Sendable {
    static var pageShift: Int { 12 }
    static var pageSize: Int { 1 << pageShift }

    private var pages: [[Element]] = []
    private let filler: Element
    public private(set) var count = 0

    public init(filler: Element) { self.filler = filler }

    public subscript(index: Int) -> Element {
        get { pages[index >> Self.pageShift][index & (Self.pageSize - 1)] }
        set { pages[index >> Self.pageShift][index & (Self.pageSize - 1)] = newValue }
    }

    public mutating func append(_ element: Element) {
        if count == pages.count << Self.pageShift {
            pages.append([Element](repeating: filler, count: Self.pageSize))
        }
        self[count] = element
        count += 1
    }

    /// Grows to `newCount` elements, filling with the filler value.
    public mutating func grow(to newCount: Int) {
        while count < newCount { append(filler) }
    }
}

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

    /// Read and modified in place (`_read`/`_modify`): reading a field of an element
    /// copies nothing, and `array[i].field.append(x)` mutates the element where it
    /// lies — a get/set pair would copy the element out (retaining its arrays, so the
    /// append copied them too) and write it back.
    public subscript(index: Int) -> Element {
        _read { yield pages[index >> Self.pageShift][index & (Self.pageSize - 1)] }
        _modify { yield &pages[index >> Self.pageShift][index & (Self.pageSize - 1)] }
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

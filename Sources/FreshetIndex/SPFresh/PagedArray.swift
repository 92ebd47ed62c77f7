/// An array stored in fixed-size pages, so a copy shares every page and a write to a
/// copy duplicates one page (4,096 elements by default) plus the short page list —
/// never the whole array. Queries keep a copy of the index's per-slot tables this way while
/// writers go on.
public struct PagedArray<Element: Sendable>: Sendable {
    /// log2 of the elements per page (12 by default). Elements that hold references
    /// (a copy retains each) want small pages: a write after a copy duplicates the
    /// page it lands in.
    private let pageShift: Int
    private var pageSize: Int { 1 << pageShift }

    private var pages: [[Element]] = []
    private let filler: Element
    public private(set) var count = 0

    public init(filler: Element, pageShift: Int = 12) {
        precondition((4...16).contains(pageShift), "page shift out of range")
        self.filler = filler
        self.pageShift = pageShift
    }

    /// Read and modified in place (`_read`/`_modify`): reading a field of an element
    /// copies nothing, and `array[i].field.append(x)` mutates the element where it
    /// lies — a get/set pair would copy the element out (retaining its arrays, so the
    /// append copied them too) and write it back.
    public subscript(index: Int) -> Element {
        _read { yield pages[index >> pageShift][index & (pageSize - 1)] }
        _modify { yield &pages[index >> pageShift][index & (pageSize - 1)] }
    }

    public mutating func append(_ element: Element) {
        if count == pages.count << pageShift {
            pages.append([Element](repeating: filler, count: pageSize))
        }
        self[count] = element
        count += 1
    }

    /// Grows to `newCount` elements, filling with the filler value.
    public mutating func grow(to newCount: Int) {
        while count < newCount { append(filler) }
    }
}

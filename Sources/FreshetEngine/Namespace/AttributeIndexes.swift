import FreshetIndex

/// Exact attribute indexes of a namespace: every document has a dense ordinal, and
/// each filterable attribute maps each value it holds (each element, for arrays) to
/// the compressed bitmap of ordinals holding it, plus the bitmap of ordinals where it
/// is present, and its distinct values in order, so a range filter unions the bitmaps
/// of just the values in range. Kept
/// in step with the documents by `NamespaceState`; a value type, so a query's
/// snapshot sees exactly its state.
struct AttributeIndexes: Sendable {
    struct Attribute: Sendable {
        var values: [AttributeValue: OrdinalBitmap] = [:]
        /// The keys of `values`, ascending.
        var sorted = SortedValues()
        var present = OrdinalBitmap()
        let isArray: Bool
    }

    private(set) var ordinals: [DocumentID: UInt32] = [:]
    /// Per ordinal: the document holding it (nil once removed; ordinals are not reused).
    private(set) var ids: [DocumentID?] = []
    private(set) var live = OrdinalBitmap()
    private(set) var attributes: [String: Attribute] = [:]
    /// Newly filterable attributes whose index a background task builds (name → holds
    /// arrays); until it is installed their filters are evaluated per document.
    private(set) var building: [String: Bool] = [:]

    /// Indexes the filterable attributes of `schema` (building those newly filterable
    /// from `documents` — or, past `deferBeyond` documents, leaving them to a background
    /// build, see `building`) and drops the rest.
    mutating func configure(for schema: NamespaceSchema, documents: [DocumentID: Document], deferBeyond limit: Int? = nil) {
        var wanted: [String: Bool] = [:]
        for (name, attribute) in schema.attributes where attribute.isFilterable {
            switch attribute.type {
            case .scalar: wanted[name] = false
            case .array: wanted[name] = true
            case .vector: continue
            }
        }
        for name in attributes.keys where wanted[name] == nil || wanted[name] != attributes[name]!.isArray { attributes[name] = nil }
        for name in building.keys where wanted[name] != building[name] { building[name] = nil }
        for (name, isArray) in wanted where attributes[name] == nil {
            if let limit, documents.count > limit {
                building[name] = isArray
            } else {
                attributes[name] = build(name, isArray: isArray, documents: documents)
            }
        }
    }

    /// The index of attribute `name` over `documents`, at these indexes' ordinals.
    func build(_ name: String, isArray: Bool, documents: [DocumentID: Document]) -> Attribute {
        var attribute = Attribute(isArray: isArray)
        for (id, document) in documents {
            guard let ordinal = ordinals[id], let value = document.attributes[name] else { continue }
            Self.add(value, ordinal: ordinal, to: &attribute)
        }
        return attribute
    }

    /// Installs an index built in the background from `snapshot` (these indexes as the
    /// build started), first bringing it up to date for the documents `touched` since:
    /// their old values leave at the snapshot's ordinals, their current ones (`current`)
    /// enter at today's. Ignored if the attribute is no longer wanted in that form.
    mutating func install(_ name: String, _ built: Attribute, snapshot: AttributeIndexes, snapshotDocuments: [DocumentID: Document],
                          touched: Set<DocumentID>, current: [DocumentID: Document]) {
        guard building[name] == built.isArray else { return }
        var attribute = built
        for id in touched {
            if let ordinal = snapshot.ordinals[id], let old = snapshotDocuments[id]?.attributes[name] { Self.remove(old, ordinal: ordinal, from: &attribute) }
            if let ordinal = ordinals[id], let value = current[id]?.attributes[name] { Self.add(value, ordinal: ordinal, to: &attribute) }
        }
        building[name] = nil
        attributes[name] = attribute
    }

    private static func add(_ value: AttributeValue, ordinal: UInt32, to attribute: inout Attribute) {
        attribute.present.insert(ordinal)
        for element in elements(value) {
            if attribute.values[element] == nil { attribute.sorted.insert(element) }
            attribute.values[element, default: OrdinalBitmap()].insert(ordinal)
        }
    }

    private static func remove(_ value: AttributeValue, ordinal: UInt32, from attribute: inout Attribute) {
        attribute.present.remove(ordinal)
        for element in elements(value) {
            attribute.values[element]?.remove(ordinal)
            if attribute.values[element]?.isEmpty == true {
                attribute.values[element] = nil
                attribute.sorted.remove(element)
            }
        }
    }

    private static func elements(_ value: AttributeValue) -> [AttributeValue] {
        if case .array(let items) = value { return Array(Set(items)) }
        return [value]
    }

    mutating func put(_ document: Document, replacing old: Document?) {
        let ordinal: UInt32
        if let existing = ordinals[document.id] {
            ordinal = existing
        } else {
            ordinal = UInt32(ids.count)
            ids.append(document.id)
            ordinals[document.id] = ordinal
            live.insert(ordinal)
        }
        for name in attributes.keys {
            let before = old?.attributes[name], after = document.attributes[name]
            guard before != after else { continue }
            if let before { Self.remove(before, ordinal: ordinal, from: &attributes[name]!) }
            if let after { Self.add(after, ordinal: ordinal, to: &attributes[name]!) }
        }
    }

    mutating func remove(_ old: Document) {
        guard let ordinal = ordinals.removeValue(forKey: old.id) else { return }
        ids[Int(ordinal)] = nil
        live.remove(ordinal)
        for (name, value) in old.attributes where attributes[name] != nil {
            Self.remove(value, ordinal: ordinal, from: &attributes[name]!)
        }
    }
}

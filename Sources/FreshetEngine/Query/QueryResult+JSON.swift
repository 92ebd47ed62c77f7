extension QueryResult {
    /// The rows as the API returns them: `id`, `$dist` for vector and score rankings
    /// (the distance, or the score — BM25's, for instance), then the
    /// selected attributes (missing ones omitted), `vector` when selected.
    public func rowsJSON() -> JSONValue {
        .array(rows.map { row in
            var object: [String: JSONValue] = ["id": row.document.id.json]
            if let distance = row.distance { object["$dist"] = .double(Double(distance)) }
            if let score = row.score { object["$dist"] = .double(score) }
            func add(_ name: String) {
                if name == NamespaceSchema.vectorAttribute {
                    if let vector = row.document.vector {
                        object[name] = base64Vectors ? .string(VectorCodec.base64(vector)) : .array(vector.map { .double(Double($0)) })
                    }
                } else if name != "id", let value = row.document.attributes[name] {
                    object[name] = value.json
                }
            }
            switch include {
            case .none: break
            case .all:
                for name in row.document.attributes.keys where !exclude.contains(name) { add(name) }
                if !exclude.contains(NamespaceSchema.vectorAttribute) { add(NamespaceSchema.vectorAttribute) }
            case .only(let names):
                for name in names where !exclude.contains(name) { add(name) }
            }
            return .object(object)
        })
    }

    /// Logical bytes of the returned rows, for billing.
    public var logicalBytesReturned: Int { rows.reduce(0) { $0 + $1.document.logicalBytes } }
}

extension WriteResult {
    public func json(serverMilliseconds: Double) -> JSONValue {
        var object: [String: JSONValue] = [
            "status": .string("OK"),
            "message": .string("committed \(rowsAffected) row(s) at WAL sequence \(sequence)"),
            "rows_affected": .int(Int64(rowsAffected)),
            "rows_upserted": .int(Int64(rowsUpserted)),
            "rows_patched": .int(Int64(rowsPatched)),
            "rows_deleted": .int(Int64(rowsDeleted)),
            "billing": .object(["billable_logical_bytes_written": .int(Int64(bytesWritten))]),
            "performance": .object(["server_total_ms": .int(Int64(serverMilliseconds.rounded()))]),
        ]
        if let upsertedIDs { object["upserted_ids"] = .array(upsertedIDs.map(\.json)) }
        if let patchedIDs { object["patched_ids"] = .array(patchedIDs.map(\.json)) }
        if let deletedIDs { object["deleted_ids"] = .array(deletedIDs.map(\.json)) }
        return .object(object)
    }
}

/// A consistent-hash ring with virtual nodes.
///
/// Each member is placed at `virtualNodes` points on a 64-bit ring; a key belongs to
/// the member owning the first point at or after the key's hash. Adding a member to N
/// moves about 1/(N+1) of the keys, all of them to the new member.
public struct HashRing: Sendable {
    public let members: [String]
    public let virtualNodes: Int
    private let points: [(hash: UInt64, member: Int)]

    /// - Parameters:
    ///   - members: stable member names (a shard's name, not its position, so reordering
    ///     the configuration does not move data).
    ///   - virtualNodes: points per member; 160 keeps the load within a few percent.
    public init(members: [String], virtualNodes: Int = 160) {
        precondition(!members.isEmpty, "a hash ring needs at least one member")
        precondition(Set(members).count == members.count, "hash ring members must be unique")
        self.members = members
        self.virtualNodes = virtualNodes
        var points: [(UInt64, Int)] = []
        points.reserveCapacity(members.count * virtualNodes)
        for (index, member) in members.enumerated() {
            for replica in 0..<virtualNodes {
                points.append((Self.hash("\(member)#\(replica)"), index))
            }
        }
        self.points = points.sorted { $0.0 < $1.0 }
    }

    /// The index in `members` of the member that owns `key`.
    public func owner(of key: String) -> Int {
        let hash = Self.hash(key)
        var low = 0, high = points.count
        while low < high {
            let mid = (low + high) / 2
            if points[mid].hash < hash { low = mid + 1 } else { high = mid }
        }
        return points[low == points.count ? 0 : low].member
    }

    /// FNV-1a over the UTF-8 bytes, finished with the splitmix64 mixer so that nearby
    /// strings spread over the whole ring.
    public static func hash(_ string: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in string.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        h ^= h >> 30
        h &*= 0xbf58_476d_1ce4_e5b9
        h ^= h >> 27
        h &*= 0x94d0_49bb_1331_11eb
        h ^= h >> 31
        return h
    }
}

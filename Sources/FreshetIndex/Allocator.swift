import CFreshetIO

/// Process-wide allocator settings for programs that hold large indexes.
public enum Allocator {
    /// Serves allocations of `bytes` and more with their own mappings, returned to the
    /// system when freed, and keeps glibc from raising that threshold on its own. Call
    /// once at startup. Measured (GloVe, 390K × 50-d index with postings on disk): the
    /// resident memory after a build fell from 80 to 51 MiB, the heap no longer keeping
    /// the pages between live blocks that a build's freed arrays left.
    @discardableResult
    public static func fixMmapThreshold(_ bytes: Int = 128 << 10) -> Bool {
        freshet_fix_mmap_threshold(bytes) == 1
    }
}

import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The threads LIRE's background jobs run on: plain threads at a lower OS priority
/// (nice 10), so on a machine with few cores a search or a write preempts maintenance
/// instead of queueing behind it on Swift's cooperative pool. Maintenance still gets
/// every idle cycle, and a share of busy ones, so it does not starve.
final class MaintenanceExecutor: TaskExecutor, @unchecked Sendable {
    /// One per process, a thread per core: every index's workers share it.
    static let shared = MaintenanceExecutor(threads: max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))), niceness: 10)

    private let jobs = Mutex<[UnownedJob]>([])
    private let ready = DispatchSemaphore(value: 0)

    private final class Start {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    init(threads: Int, niceness: Int32) {
        for _ in 0..<threads {
            let start = Unmanaged.passRetained(Start { [unowned self] in
                // On Linux the priority of PRIO_PROCESS 0 is the calling thread's.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
                while true {
                    self.ready.wait()
                    guard let job = self.jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
                    job.runSynchronously(on: self.asUnownedTaskExecutor())
                }
            })
            var thread = pthread_t()
            let created = pthread_create(&thread, nil, { context in
                Unmanaged<Start>.fromOpaque(context!).takeRetainedValue().body()
                return nil
            }, start.toOpaque())
            precondition(created == 0, "could not start a maintenance thread (error \(created))")
            pthread_detach(thread)
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        ready.signal()
    }
}

import AttentionTestSupport
import BenchHarness
import Foundation
import XCTest

/// A case's processes end with the case: time limits and signals end the
/// whole process group of a case, grandchildren included, leave no
/// temporary folder, keep every finished row, and a hanging peer probe
/// cannot hang a command. The misbehaving peer is
/// Fixtures/hostile_peer/torch_peer.py, standing in for the PyTorch peers.
extension CLITests {
    static let hostilePeerFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hostile_peer").path

    /// The environment that runs the PyTorch peers as the hostile peer in
    /// `mode`, its grandchildren marked with `marker`.
    func hostilePeer(_ mode: String, marker: String) -> [String: String] {
        [
            "ATTNBENCH_PEER_SCRIPTS": Self.hostilePeerFolder, "ATTNBENCH_PEER_PYTHON": "python3",
            "HOSTILE_PEER_MODE": mode, "HOSTILE_PEER_MARKER": marker, "ATTNBENCH_QUICK_CALIBRATION": "1",
        ]
    }

    /// Processes whose command line contains `marker`.
    static func survivors(_ marker: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { name -> String? in
            guard Int32(name) != nil,
                let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline")
            else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return line.contains(marker) ? "\(name): \(line)" : nil
        }
    }

    /// The peer input folders of process `pid` left in the temporary directory.
    static func peerFolders(of pid: Int32) -> [String] {
        let tmp = FileManager.default.temporaryDirectory.path
        return ((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [])
            .filter { $0.hasPrefix("attnbench-peer-\(pid)-") }
    }

    static func uniqueMarker() -> String { "hostile-\(UUID().uuidString.prefix(8))" }

    func testAHangingPeerProbeMakesThePeerUnsupportedWithinItsLimit() throws {
        let env = hostilePeer("hang-probe", marker: Self.uniqueMarker()).merging([
            "ATTNBENCH_PEER_PROBE_TIMEOUT": "1"
        ]) { _, new in new }
        let started = Date()
        let list = try attnbench(["list"], environment: env)
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssert(list.stdout.contains("torch-sdpa: probe did not answer within 1 s"), list.stdout)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)

        let dir = try TemporaryDirectory(prefix: "cli-probe")
        defer { dir.remove() }
        let sweep = try attnbench(
            [
                "sweep", "--strategies", "tiled,torch-sdpa", "--patterns", "full", "--seq-lens", "16", "--heads", "1",
                "--head-dims", "8", "--min-reps", "1", "--max-reps", "1", "--out", dir.path("p.csv"),
            ], environment: env)
        XCTAssertEqual(sweep.status, 0, sweep.stderr)
        let rows = try ReportFile(path: dir.path("p.csv")).rows
        XCTAssertEqual(rows.map { $0["status"]! }, ["ok", "unsupported"])
        XCTAssert(rows[1]["reason"]!.contains("probe did not answer within 1 s"), rows[1]["reason"]!)
    }

    /// `--timeout` kills the peer's whole group, so a grandchild holding
    /// the output pipes neither hangs the sweep nor survives it; one that
    /// left the group (a new session) is ended too.
    func testATimeoutEndsTheCaseWithItsGrandchildren() throws {
        let dir = try TemporaryDirectory(prefix: "cli-timeout")
        defer { dir.remove() }
        for mode in ["grandchild", "escaped"] {
            let marker = Self.uniqueMarker()
            let started = Date()
            let r = try attnbench(
                [
                    "sweep", "--strategies", "torch-sdpa", "--patterns", "full", "--seq-lens", "16", "--heads", "1",
                    "--head-dims", "8", "--timeout", "3", "--out", dir.path("\(mode).csv"),
                ], environment: hostilePeer(mode, marker: marker))
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertLessThan(Date().timeIntervalSince(started), 30, mode)
            let rows = try ReportFile(path: dir.path("\(mode).csv")).rows
            XCTAssertEqual(rows.map { $0["status"]! }, ["timeout"], mode)
            XCTAssertEqual(Self.survivors(marker), [], mode)
        }
    }

    /// SIGINT to the sweep's process group (Ctrl-C), SIGTERM and SIGHUP to
    /// the sweep: the running case's group ends (native child or peer with a
    /// grandchild), its input folder is removed, the finished rows stay, the
    /// sweep ends by the signal, and `--resume` completes the grid with no
    /// duplicate row.
    func testSignalsEndTheRunningCaseAndKeepTheFinishedRows() throws {
        let dir = try TemporaryDirectory(prefix: "cli-signals")
        defer { dir.remove() }
        // A quick native case, then a slow one (a tenth of a second a run,
        // 20 runs) or a peer that hangs with a grandchild.
        let common = [
            "sweep", "--patterns", "full", "--heads", "4", "--head-dims", "64", "--threads", "1", "--min-reps", "20",
            "--max-reps", "20", "--min-time", "0", "--timeout", "30",
        ]
        let native = common + ["--strategies", "tiled", "--seq-lens", "16,2048"]
        let peer = common + ["--strategies", "tiled,torch-sdpa", "--seq-lens", "16"]
        for (signal, toGroup, whileRunning) in [
            (SIGINT, true, "peer"), (SIGTERM, false, "native"), (SIGHUP, false, "peer"),
        ] {
            let grid = whileRunning == "peer" ? peer : native
            let marker = Self.uniqueMarker()
            let out = dir.path("\(signal).csv")
            let process = Process()
            process.executableURL = Self.binary
            process.arguments = grid + ["--out", out]
            process.environment = ProcessInfo.processInfo.environment.merging(hostilePeer("grandchild", marker: marker))
            {
                _, new in new
            }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let pid = process.processIdentifier
            // Wait until the case to interrupt is running.
            let deadline = Date().addingTimeInterval(60)
            func running() -> Bool {
                if whileRunning == "peer" { return !Self.survivors(marker).isEmpty }
                return !Self.survivors("--seq-len 2048 ").isEmpty
            }
            while !running() && Date() < deadline && process.isRunning { usleep(20_000) }
            XCTAssert(running(), "the \(whileRunning) case never started (signal \(signal))")
            if toGroup { XCTAssertEqual(getpgid(pid), pid, "the test's child leads its own group") }
            kill(toGroup ? -pid : pid, signal)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal, "signal \(signal)")
            XCTAssertEqual(process.terminationStatus, signal)
            usleep(200_000)
            XCTAssertEqual(Self.survivors(marker), [], "signal \(signal)")
            XCTAssertEqual(Self.survivors("--seq-len 2048 "), [], "signal \(signal)")
            XCTAssertEqual(Self.peerFolders(of: pid), [], "signal \(signal)")
            let kept = try ReportFile(path: out).rows
            XCTAssertGreaterThanOrEqual(kept.count, 1, "signal \(signal)")
            XCTAssert(kept.allSatisfy { $0["status"] != "" }, "signal \(signal)")

            let resumed = try attnbench(
                grid + ["--out", out, "--resume"], environment: hostilePeer("fail", marker: marker))
            XCTAssertEqual(resumed.status, whileRunning == "peer" ? 1 : 0, resumed.stderr)  // the peer case fails
            let rows = try ReportFile(path: out).rows
            XCTAssertEqual(rows.count, 2, "signal \(signal)")
            XCTAssertEqual(Set(rows.compactMap(CaseKey.init(row:))).count, 2, "a duplicate row after signal \(signal)")
        }
    }
}

extension CLITests {
    /// A baseline build behind a wrapper that leaves a grandchild holding
    /// the output pipes: the case ends when the build does, the grandchild
    /// with it, and `ab` neither hangs nor leaves it running.
    func testAnABWrapperThatLeavesAGrandchildDoesNotHang() throws {
        let dir = try TemporaryDirectory(prefix: "ab-grandchild")
        defer { dir.remove() }
        let marker = Self.uniqueMarker()
        let wrapper = dir.path("baseline.sh")
        try """
        #!/bin/sh
        python3 -c 'import time; time.sleep(1000)' \(marker) &
        exec '\(Self.binary.path)' "$@"
        """.write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let started = Date()
        let r = try attnbench(
            [
                "ab", "--baseline-binary", wrapper, "--out-dir", dir.path("out"), "--strategies", "tiled",
                "--patterns", "full", "--seq-lens", "16", "--heads", "1", "--head-dims", "8", "--min-reps", "2",
                "--max-reps", "2", "--min-time", "0", "--rounds", "2", "--retries", "0", "--threshold", "500%",
                "--timeout", "60",
            ], environment: ["ATTNBENCH_QUICK_CALIBRATION": "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 45, "no case waited for its timeout")
        XCTAssertEqual(try ReportFile(path: dir.path("out/baseline.csv")).rows.map { $0["status"]! }, ["ok"])
        XCTAssertEqual(Self.survivors(marker), [])
    }
}

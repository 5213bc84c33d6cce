import Foundation

extension PeerCommand {
    /// `scripts/peers/SCRIPT --backend BACKEND` under ``PeerLocation/interpreter``.
    static func python(script file: String, backend: String) -> PeerCommand {
        let script = PeerLocation.script(named: file)
        return PeerCommand(
            interpreter: PeerLocation.interpreter, script: script.path, arguments: ["--backend", backend],
            missingScriptReason: script.reason)
    }
}

/// Where the peer scripts and their Python are.
public enum PeerLocation {
    /// The Python that runs the peers: `ATTNBENCH_PEER_PYTHON` when set;
    /// else the repository's `.venv/bin/python` (where `scripts/peers.sh`
    /// installs the libraries) when it exists; else `python3` on `PATH`.
    public static var interpreter: String {
        if let chosen = ProcessInfo.processInfo.environment["ATTNBENCH_PEER_PYTHON"], !chosen.isEmpty {
            return chosen
        }
        if let root = repositoryRoot {
            let venv = root + "/.venv/bin/python"
            if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        }
        return "python3"
    }

    /// The folder of the peer scripts: `ATTNBENCH_PEER_SCRIPTS` when set,
    /// else `scripts/peers` of ``repositoryRoot``.
    public static func script(named file: String) -> (path: String?, reason: String) {
        if let dir = ProcessInfo.processInfo.environment["ATTNBENCH_PEER_SCRIPTS"], !dir.isEmpty {
            let path = dir + "/" + file
            return FileManager.default.fileExists(atPath: path)
                ? (path, "") : (nil, "\(path) not found (ATTNBENCH_PEER_SCRIPTS)")
        }
        guard let root = repositoryRoot else {
            return (
                nil,
                "scripts/peers/\(file) not found above this attnbench or the current directory; set ATTNBENCH_PEER_SCRIPTS"
            )
        }
        return (root + "/scripts/peers/" + file, "")
    }

    /// The first folder holding `scripts/peers/peer_protocol.py`, going up from
    /// this executable (built into the repository's `.build`), then from
    /// the current directory.
    public static let repositoryRoot: String? = {
        let starts = [
            URL(fileURLWithPath: ChildProcess.currentExecutable).deletingLastPathComponent().path,
            FileManager.default.currentDirectoryPath,
        ]
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            while true {
                if FileManager.default.fileExists(atPath: dir.path + "/scripts/peers/peer_protocol.py") {
                    return dir.path
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        return nil
    }()
}

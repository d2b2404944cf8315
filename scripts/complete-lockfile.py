#!/usr/bin/env python3
"""Adds lockfile entries for platform-specific optional packages that this machine's registry withholds.

The npm registry reachable here answers 404 for other platforms' binaries (darwin, win32, musl, ...), so an
`npm install` here leaves them out of package-lock.json, and `npm ci` then refuses the lock as out of sync.
Each missing entry is written with its exact version (from the parent's optionalDependencies) and its
os/cpu/libc, so npm skips it on other platforms and fetches it where it belongs. Run after `npm install`.
"""
import json
import re
import subprocess
import sys

OSES = {"android", "darwin", "linux", "freebsd", "win32", "openharmony", "netbsd", "openbsd", "sunos", "aix"}
CPUS = {"arm64", "x64", "arm", "ppc64", "s390x", "ia32", "loong64", "riscv64", "wasm32"}


def platform_of(name):
    tokens = re.split(r"[-/]", name)
    os_ = next((t for t in tokens if t in OSES), None)
    cpu = next((t for t in tokens if t in CPUS), None)
    if os_ is None or cpu is None:
        return None
    entry = {"os": [os_], "cpu": [cpu]}
    if os_ == "linux":
        if any("musl" in t for t in tokens):
            entry["libc"] = ["musl"]
        elif any(t.startswith("gnu") for t in tokens):
            entry["libc"] = ["glibc"]
    return entry


def missing_names():
    out = subprocess.run(["npm", "ci", "--dry-run", "--ignore-scripts"], capture_output=True, text=True)
    return sorted(set(re.findall(r"Missing: (\S+?)@\S* from lock file", out.stdout + out.stderr)))


def main():
    names = missing_names()
    if not names:
        print("lockfile complete")
        return 0
    lock = json.load(open("package-lock.json"))
    packages = lock["packages"]
    added, unknown = [], []
    for name in names:
        parent = next(
            (p for p in packages.values() if name in (p.get("optionalDependencies") or {})), None
        )
        platform = platform_of(name)
        if parent is None or platform is None:
            unknown.append(name)
            continue
        entry = {"version": parent["optionalDependencies"][name], **platform, "optional": True}
        if parent.get("dev"):
            entry["dev"] = True
        packages[f"node_modules/{name}"] = entry
        added.append(name)
    lock["packages"] = dict(sorted(packages.items(), key=lambda kv: (kv[0] != "", kv[0])))
    with open("package-lock.json", "w") as f:
        json.dump(lock, f, indent=2)
        f.write("\n")
    print(f"added {len(added)} platform entries")
    if unknown:
        print("could not place:", ", ".join(unknown), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

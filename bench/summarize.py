#!/usr/bin/python3
"""Turns the raw JSON of bench/run.sh into the markdown report: medians of every figure over the
runs, the goals of issue 8 next to what was measured, the Celery+Redis comparison, the
PostgreSQL fleet rows of issue 9 (SQLite vs PostgreSQL with one and two orchestrators), and the
connections without a secret of issue 18, and graphile-worker beside swamp on one PostgreSQL server."""
import glob
import json
import os
import re
import statistics
import sys


def load(raw, prefix):
    runs = []
    for path in sorted(glob.glob(os.path.join(raw, prefix + "-*.json"))):
        with open(path) as f:
            text = f.read().strip()
        if text:
            runs.append(json.loads(text))
    return runs


def scenario(runs):
    return [s for r in runs for s in r.get("scenarios", [])]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fig(scenarios, *path):
    values = []
    for s in scenarios:
        v = s.get("figures", {})
        for key in path:
            v = v.get(key, {}) if isinstance(v, dict) else None
        values.append(v if isinstance(v, (int, float)) else None)
    return med(values)


def peer(runs, *path):
    values = []
    for r in runs:
        v = r
        for key in path:
            v = v.get(key, {}) if isinstance(v, dict) else None
        values.append(v if isinstance(v, (int, float)) else None)
    return med(values)


def num(v, digits=0):
    return "n/a" if v is None else f"{v:,.{digits}f}"


FLEET_CONFIGS = (("sqlite1", "SQLite", 1), ("pg1", "PostgreSQL", 1), ("pg2", "PostgreSQL", 2))


def write_failures(w, failures):
    """The failed correctness checks as a list under a bold heading; False when there are none."""
    if not failures:
        return False
    w("**Correctness checks failed:**")
    for f in failures:
        w(f"- {f}")
    w()
    return True


def fleet_rows(raw):
    """{(workers, steps): {config: [scenario, ...]}} from fleet-<config>-<W>-<M>-<run>.json."""
    rows = {}
    for path in sorted(glob.glob(os.path.join(raw, "fleet-*.json"))):
        m = re.match(r"fleet-(\w+?)-(\d+)-(\d+)-\d+\.json$", os.path.basename(path))
        if not m:
            continue
        with open(path) as f:
            text = f.read().strip()
        if not text:
            continue
        key = (int(m.group(2)), int(m.group(3)))
        rows.setdefault(key, {}).setdefault(m.group(1), []).extend(json.loads(text).get("scenarios", []))
    return rows


def print_fleet(w, raw, machine):
    rows = fleet_rows(raw)
    if not rows:
        return []
    failures = [f"{s['name']}: {f}" for by in rows.values() for scen in by.values() for s in scen
                for f in s.get("failures", [])]
    w("## PostgreSQL fleet (issue 9)")
    w()
    settings = machine.get("pg_settings") or "none: PostgreSQL's durable defaults (fsync, synchronous_commit on)"
    w(f"`swamp-bench throughput W M` on SQLite, and on {machine.get('postgres', 'PostgreSQL')} started by the "
      f"bench (`--postgres`, 127.0.0.1, settings changed: {settings}) with one and with two orchestrators "
      "(`--orchestrators 2`: workers spread evenly, steps submitted round-robin to both). CPU is the sum over "
      "the orchestrators per step; PostgreSQL's own CPU is not in it. 'cross' is the share of steps that ran "
      "on a worker of the other orchestrator than the one they were submitted to.")
    w()
    write_failures(w, failures)
    w("| W M | store | orch. | steps/s | CPU/step (ms) | idle submit→start p50 / p99 (ms) | "
      "idle submit→finished p50 / p99 (ms) | loaded submit→finished p50 / p99 (ms) | cross (idle / loaded) | "
      "idle cross-orch. submit→start p50 / p99 (ms) | runs |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for (workers, steps) in sorted(rows):
        by = rows[(workers, steps)]
        for config, store, orchestrators in FLEET_CONFIGS:
            scen = by.get(config)
            if not scen:
                continue
            pair = lambda key: f"{num(fig(scen, key, 'p50Ms'), 2)} / {num(fig(scen, key, 'p99Ms'), 2)}"
            cross = "—"
            cross_start = "—"
            if orchestrators > 1:
                idle_share, loaded_share = fig(scen, "idleCrossShare"), fig(scen, "loadedCrossShare")
                cross = (f"{num(idle_share * 100 if idle_share is not None else None)} % / "
                         f"{num(loaded_share * 100 if loaded_share is not None else None)} %")
                if (fig(scen, "idleCrossSubmitToStart", "samples") or 0) > 0:
                    cross_start = pair("idleCrossSubmitToStart")
                else:
                    cross_start = "— (none crossed)"
            w(f"| {workers} {steps} | {store} | {orchestrators} | {num(fig(scen, 'stepsPerSecond'))} | "
              f"{num(fig(scen, 'orchestratorCpuMsPerStep'), 3)} | {pair('idleSubmitToStart')} | "
              f"{pair('idleSubmitToFinished')} | {pair('loadedSubmitToFinished')} | {cross} | {cross_start} | "
              f"{len(scen)} |")
    w()
    stderr = med([s.get("figures", {}).get("orchestratorStderrLines") for by in rows.values()
                  for scen in by.values() for s in scen])
    if stderr:
        w(f"The orchestrators wrote a median of {num(stderr)} line(s) on stderr per run (see `--keep` logs).")
        w()
    return failures


def print_graphile(w, raw, machine):
    """swamp and graphile-worker on one PostgreSQL server in the same run (bench/run.sh)."""
    swamp = scenario(load(raw, "peer-pg-swamp"))
    graphile = load(raw, "peer-pg-graphile")
    if not (swamp or graphile):
        return []
    swamp_cpu = load(raw, "peer-pg-cpu-swamp")
    failures = [f"swamp {s['name']}: {f}" for s in swamp for f in s.get("failures", [])]
    failures += [f"graphile-worker: {f}" for r in graphile for f in r.get("failures", [])]
    g = graphile[0] if graphile else {}
    w("## Peers: graphile-worker on the same PostgreSQL")
    w()
    w(f"One PostgreSQL server ({machine.get('postgres', '?')}) started by `bench/run.sh` for both (127.0.0.1, "
      "`fsync`, `full_page_writes` and `synchronous_commit` on: PostgreSQL's defaults; `max_connections` 200), "
      "swamp and graphile-worker one after the other in each run, each in a database of its own. swamp: "
      f"`swamp-bench --database URL throughput {num(fig(swamp, 'workers'))} {fig(swamp, 'steps') or 0:.0f}`, one "
      f"orchestrator, {num(fig(swamp, 'batch'))} step(s) per `run.submit`, {num(fig(swamp, 'inflight'))} in flight. "
      "graphile-worker "
      f"{g.get('version', '?')} (Node {g.get('node', '?')}, pg {g.get('pg', '?')}): one worker process with "
      f"concurrency {g.get('workers', '?')} (a pool of {g.get('maxPoolSize', '?')} connections), a no-op task; "
      "`bench/peers/graphile/graphile.sh`. Latency: add (swamp: the `run.submit` frame sent) → the task "
      "starting (swamp: the `dispatch` reaching the worker) → done (swamp: the result stored and acked; "
      "graphile-worker: the job's row deleted). Last column: how many times better swamp is (rates: swamp ÷ "
      "graphile-worker; times: graphile-worker ÷ swamp).")
    w()
    write_failures(w, failures)

    def ratio(ours, theirs, higher_better):
        if not ours or not theirs:
            return "n/a"
        return f"{num(ours / theirs if higher_better else theirs / ours, 2)}×"

    def row(label, ours, theirs, digits, higher_better):
        w(f"| {label} | {num(ours, digits)} | {num(theirs, digits)} | {ratio(ours, theirs, higher_better)} |")

    sps = fig(swamp, "stepsPerSecond")
    inflight = peer(graphile, "oneAtATime", "inflight")
    batch = peer(graphile, "batched", "batch")
    w("| figure | swamp | graphile-worker | swamp better by |")
    w("|---|---|---|---|")
    row(f"jobs/s, added one per request (graphile-worker: `addJob`, {num(inflight)} in flight)", sps,
        peer(graphile, "oneAtATime", "jobsPerSecond"), 0, True)
    row(f"jobs/s, graphile-worker adding batches of {num(batch)} (`add_jobs`); swamp as above", sps,
        peer(graphile, "batched", "jobsPerSecond"), 0, True)
    for key, theirs, label in (("idleSubmitToStart", "addToStart", "idle add→start"),
                               ("idleSubmitToFinished", "addToDone", "idle add→done")):
        for p in ("p50Ms", "p99Ms"):
            row(f"{label} {p[:3]} (ms)", fig(swamp, key, p), peer(graphile, "idle", theirs, p), 2, False)
    pg_swamp = med([c["postgresCpuMs"] / c["jobs"] for c in swamp_cpu if c.get("jobs")])
    for mode, label in (("oneAtATime", "one at a time"), ("batched", "batched")):
        row(f"CPU per job of the queue's own process (ms; swamp: the orchestrator; graphile-worker: the worker "
            f"process, {label})", fig(swamp, "orchestratorCpuMsPerStep"), peer(graphile, mode, "workerCpuMsPerJob"),
            3, False)
    for mode, label in (("oneAtATime", "one at a time"), ("batched", "batched")):
        row(f"PostgreSQL's CPU per job (ms; swamp: over its whole run, setup and probe included; graphile-worker: "
            f"{label})", pg_swamp, peer(graphile, mode, "postgresCpuMsPerJob"), 3, False)
    w(f"| runs | {len(swamp)} | {len(graphile)} | |")
    w()
    return failures


SOAK_FAULTS = (("kill -9 orchestrator", "an orchestrator killed -9 and started again"),
               ("workers reconnect", "5% of the simulated workers dropped (half reconnect, half crash)"),
               ("pg_ctl restart", "PostgreSQL restarted (`pg_ctl restart -m fast`)"))


def print_soak(w, scenarios):
    """The fleet soak of issue 20: steps through orchestrator kills, worker drops and a PostgreSQL
    restart. Medians over the runs, and the worst run for the counts that must be 0."""
    if not scenarios:
        return []
    failures = [f"{s['name']}: {f}" for s in scenarios for f in s.get("failures", [])]
    first = scenarios[0]["figures"]
    w("## Fleet soak: steps through faults")
    w()
    w(f"`swamp-bench --postgres --orchestrators {first.get('orchestrators')} soak {first.get('workers')} "
      f"{first.get('steps')}`: the steps submitted in 8 waves (runs of 500, through the orchestrators in turn), each "
      "simulated step taking 0–100 ms; halfway through each wave but the last one fault, in an order drawn from the "
      "run's seed: 3 "
      "orchestrators killed -9 (started again at once or after the fleet declared them dead; "
      "`--orchestrator-timeout 5s`), 3 drops of 5% of the simulated workers, one PostgreSQL restart. Recovery: from "
      "the fault until every worker is enrolled again and the fleet lists each orchestrator once (the killed one "
      f"declared dead). {len(scenarios)} run(s).")
    w()
    write_failures(w, failures)
    worst = lambda key: max((s["figures"].get(key, 0) for s in scenarios), default=None)
    w("| figure | median | worst run |")
    w("|---|---|---|")
    w(f"| steps/s over the whole run, faults included | {num(fig(scenarios, 'stepsPerSecond'))} | "
      f"{num(min(s['figures'].get('stepsPerSecond', 0) for s in scenarios))} |")
    w(f"| steps lost | {num(fig(scenarios, 'stepsLost'))} | {num(worst('stepsLost'))} |")
    w(f"| steps completed twice | {num(fig(scenarios, 'stepsCompletedTwice'))} | {num(worst('stepsCompletedTwice'))} |")
    w(f"| retries caused by the faults (leases beyond a step's first) | {num(fig(scenarios, 'retries'))} | "
      f"{num(worst('retries'))} |")
    w(f"| steps failed by their retry policy (attempts exhausted) | {num(fig(scenarios, 'stepsFailed'))} | "
      f"{num(worst('stepsFailed'))} |")
    w(f"| orchestrators that exited by themselves and were started again | "
      f"{num(fig(scenarios, 'unexpectedOrchestratorExits'))} | {num(worst('unexpectedOrchestratorExits'))} |")
    for prefix, label in SOAK_FAULTS:
        times = [f["recoverySeconds"] for s in scenarios for f in s["figures"].get("faults", [])
                 if f.get("fault", "").startswith(prefix) or prefix in f.get("fault", "")]
        w(f"| recovery (s): {label} | {num(med(times), 2)} | {num(max(times, default=None), 2)} |")
    w()
    return failures


HOSTILE_VARIANTS = (
    ("none", "no attack"),
    ("head", "(a) a request head that never ends ({head:,} bytes)"),
    ("frame", "(b) upgraded, a {frame:,}-byte frame but its last byte"),
    ("oversized", "(c) upgraded, a 1 MiB frame but its last byte"),
    ("idle", "(d) upgraded, silent"),
)


def hostile_peak(scenarios):
    """The highest median peak RSS above rest over the attack variants (MiB), or None."""
    peaks = [fig([s for s in scenarios if s["figures"].get("variant") == v], "rssPeakAboveRestMiB")
             for v, _ in HOSTILE_VARIANTS[1:]]
    peaks = [p for p in peaks if p is not None]
    return max(peaks) if peaks else None


def print_hostile(w, scenarios):
    """Issue 18, item 3: what connections without a secret cost, and whether real workers get in."""
    if not scenarios:
        return []
    failures = [f"{s['name']}: {f}" for s in scenarios for f in s.get("failures", [])]
    first = scenarios[0]["figures"]
    attackers = max(s["figures"].get("hostile", 0) for s in scenarios)
    w("## Connections without a secret (issue 18)")
    w()
    w(f"`swamp-bench hostile {attackers} {first.get('workers')}`: each row against a fresh orchestrator. {attackers:,} "
      f"attacking connections from {first.get('addresses')} loopback addresses (127.0.0.2 on; each dials again when "
      f"dropped, {num(first.get('connectsPerSecondLimit'))} connects/s at most in all), while "
      f"{first.get('workers'):,} new real workers enroll from 127.0.0.1 over {num(fig(scenarios, 'seconds'))} s and an "
      f"enrolled one restarts every {num(first.get('trickleMs'))} ms. RSS is above the orchestrator's own at rest (the real workers' share "
      "is in it: see 'no attack'); peak is VmHWM. Enrollment latency is from the TCP connect to `enrolled`, "
      "for every attempt started in the window.")
    w()
    write_failures(w, failures)
    w("| attack | RSS peak / steady above rest (MiB) | after the attack (MiB) | attacker connects/s | attackers "
      "open (median) | dropped by the orchestrator (its log) | real workers: attempts enrolled | enrollment p50 / "
      "p99 (ms) | of which handshake p50 / enroll frame p50 (ms) | orchestrator CPU (cores) | its event loop "
      "waiting for a CPU | runs |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for variant, label in HOSTILE_VARIANTS:
        scen = [s for s in scenarios if s["figures"].get("variant") == variant]
        if not scen:
            continue
        attack = variant != "none"
        success = fig(scen, "enrollSuccessRate")
        waiting = fig(scen, "eventLoopWaitingForCpu")
        label = label.format(head=scen[0]["figures"].get("headBytes", 15360), frame=scen[0]["figures"].get("frameBytes", 61440))
        w(f"| {label} | {num(fig(scen, 'rssPeakAboveRestMiB'), 1)} / {num(fig(scen, 'rssSteadyAboveRestMiB'), 1)} | "
          f"{num(fig(scen, 'rssAfterAboveRestMiB'), 1)} | "
          f"{num(fig(scen, 'attack', 'connectsPerSecond')) if attack else '—'} | "
          f"{num(fig(scen, 'attack', 'openMedian')) if attack else '—'} | "
          f"{num(fig(scen, 'orchestratorLog', 'dropped')) if attack else '—'} | "
          f"{num(success * 100 if success is not None else None, 1)} % of {num(fig(scen, 'enrollAttempts'))} | "
          f"{num(fig(scen, 'enroll', 'p50Ms'), 1)} / {num(fig(scen, 'enroll', 'p99Ms'), 1)} | "
          f"{num(fig(scen, 'handshake', 'p50Ms'), 1)} / {num(fig(scen, 'enrollFrame', 'p50Ms'), 1)} | "
          f"{num(fig(scen, 'orchestratorCpuCores'), 2)} | "
          f"{num(waiting * 100 if waiting is not None else None)} % | {len(scen)} |")
    w()
    return failures


def spread(scenarios, *path):
    """'median (min–max)' of a figure over the runs."""
    values = [v for v in (fig([s], *path) for s in scenarios) if v is not None]
    if not values:
        return "n/a"
    digits = 0 if max(values) >= 100 or all(float(v).is_integer() for v in values) else 2
    if min(values) == max(values):
        return num(values[0], digits)
    return f"{num(med(values), digits)} ({num(min(values), digits)}–{num(max(values), digits)})"


def print_idle19k(w, raw):
    """ONLY=idle19k: idle, storm and storm --crash at the open-file limit (issue 20)."""
    idle, storm, crash = (scenario(load(raw, "idle19k-" + n)) for n in ("idle", "storm", "crash"))
    if not (idle or storm or crash):
        return
    failures = [f"{s['name']}: {f}" for s in idle + storm + crash for f in s.get("failures", [])]
    write_failures(w, failures)
    n = int(fig(idle + storm + crash, "workers") or 0)
    w(f"`swamp-bench idle {n}`, `storm {n}` and `storm {n} --crash`; the simulated fleet runs "
      "in several processes of the bench (`--shard-size`). Median (range) over the runs.")
    w()
    w("| figure | goal | idle | storm (SIGTERM) | storm --crash |")
    w("|---|---|---|---|---|")
    w(f"| workers | ≥ 19,000 | {spread(idle, 'workers')} | {spread(storm, 'workers')} | {spread(crash, 'workers')} |")
    w(f"| orchestrator RSS per worker | ≤ 8 KB | {spread(idle, 'rssPerWorkerKb')} KB | | |")
    w(f"| orchestrator CPU while the fleet idles | | {spread([s for s in idle if 'orchestratorIdleCoreShare' in s.get('figures', {})], 'orchestratorIdleCoreShare')} cores | | |")
    w(f"| enrollments/s (CPU ms each) | | {spread(idle, 'enrollmentsPerSecond')} ({spread(idle, 'orchestratorCpuMsPerEnrollment')}) | | |")
    w(f"| all back after the stop | < 60 s | | {spread(storm, 'allBackSeconds')} s | {spread(crash, 'allBackSeconds')} s |")
    w(f"| connects per 100 ms, peak ÷ mean | ≤ 3 | | {spread(storm, 'peakToMean')} | {spread(crash, 'peakToMean')} |")
    w(f"| connect attempts, peak ÷ mean | | | {spread(storm, 'attemptPeakToMean')} | {spread(crash, 'attemptPeakToMean')} |")
    w(f"| failed attempts | | {spread(idle, 'failedAttempts')} | {spread(storm, 'failedAttempts')} | {spread(crash, 'failedAttempts')} |")
    w(f"| steps lost / finished twice | 0 / 0 | | {spread(storm, 'stepsLost')} / {spread(storm, 'stepsFinishedTwice')} "
      f"| {spread(crash, 'stepsLost')} / {spread(crash, 'stepsFinishedTwice')} |")
    w()


def main():
    raw = sys.argv[1]
    machine = {}
    with open(os.path.join(raw, "machine.env")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            machine[key] = value
    idle, thr, storm, query = (scenario(load(raw, n)) for n in ("idle", "throughput", "storm", "query"))
    hostile = scenario(load(raw, "hostile"))
    soak = scenario(load(raw, "soak"))
    w = lambda line="": print(line)
    if not (idle or thr or storm or query):
        # ONLY=fleet or ONLY=hostile: those rows alone.
        only, title = (("hostile", "connections without a secret") if hostile else
                       ("soak", "fleet soak") if soak else
                       ("fleet", "PostgreSQL fleet") if fleet_rows(raw) else
                       ("idle19k", "idle workers at the open-file limit") if load(raw, "idle19k-idle") else
                       ("graphile", "graphile-worker peer"))
        w(f"# swamp-bench {title} results, {os.path.basename(raw)[:10]}")
        w()
        w(f"Machine: {machine.get('nproc')} cores ({machine.get('cpu')}), {machine.get('memory')}, Linux "
          f"{machine.get('kernel')}, load average at start {machine.get('load')}. Build: {machine.get('build')} of "
          f"{machine.get('commit')}. Loopback. Every figure is the median of the runs counted in its row; raw "
          "JSON in `" + raw + "`.")
        w()
        print_fleet(w, raw, machine)
        print_hostile(w, hostile)
        print_idle19k(w, raw)
        print_graphile(w, raw, machine)
        print_soak(w, soak)
        w(f"Reproduce: `ONLY={only} bench/run.sh` (see bench/README.md).")
        return
    durable, default = load(raw, "celery-durable"), load(raw, "celery-default")
    failures = [f"{s['name']}: {f}" for s in idle + thr + storm + query + hostile for f in s.get("failures", [])]
    runs = max(len(idle), len(thr), len(storm), len(query), 1)

    w(f"# swamp-bench results, {os.path.basename(raw)[:10]}")
    w()
    w(f"Machine: {machine.get('nproc')} cores ({machine.get('cpu')}), {machine.get('memory')}, Linux "
      f"{machine.get('kernel')}, load average at start {machine.get('load')}, open-file hard limit "
      f"{machine.get('nofile')}. Build: {machine.get('build')} of {machine.get('commit')}. "
      f"Orchestrator on the embedded SQLite, loopback. Every figure is the median of {runs} run(s); "
      "raw JSON in `" + raw + "`.")
    w()
    if not write_failures(w, failures):
        w("Every correctness check passed (all workers enrolled and back after the restart, every step "
          "dispatched and acknowledged exactly once, one completed lease per step, 0 steps lost).")
        w()

    n_idle = fig(idle, "workers")
    enroll = fig(idle, "enrollmentsPerSecond")
    per_worker = fig(idle, "rssPerWorkerKb")
    tw, tm = fig(thr, "workers"), fig(thr, "steps")
    sps = fig(thr, "stepsPerSecond")
    p99_start = fig(thr, "idleSubmitToStart", "p99Ms")
    n_storm = fig(storm, "workers")
    back = fig(storm, "allBackSeconds")
    ptm = fig(storm, "peakToMean")
    lost = fig(storm, "stepsLost")
    celery_sps = peer(durable, "tasksPerSecond")
    celery_default_sps = peer(default, "tasksPerSecond")
    ratio = sps / celery_sps if sps and celery_sps else None

    def met(ok):
        return "n/a" if ok is None else ("yes" if ok else "**no**")

    w("## Goals")
    w()
    w("| goal | measured | met |")
    w("|---|---|---|")
    w(f"| ≥10,000 idle workers on one orchestrator | {num(n_idle)} connected | {met(n_idle and n_idle >= 10000 and not any('idle' in f for f in failures))} |")
    w(f"| ≤20 KB orchestrator RSS per worker | {num(per_worker, 1)} KB | {met(per_worker is not None and per_worker <= 20)} |")
    w(f"| ≥2,000 enrollments/s | {num(enroll)} /s | {met(enroll is not None and enroll >= 2000)} |")
    w(f"| ≥5,000 durable no-op steps/s with 100 workers | {num(sps)} steps/s ({num(tw)} workers) | {met(sps is not None and sps >= 5000 and tw == 100)} |")
    w(f"| ≥2× Celery+Redis (durable settings) | {num(ratio, 2)}× ({num(celery_sps)} tasks/s) | {met(ratio is not None and ratio >= 2)} |")
    w(f"| p99 submit→start < 5 ms, idle workers | {num(p99_start, 2)} ms | {met(p99_start is not None and p99_start < 5)} |")
    w(f"| 10,000 workers back < 60 s after a restart | {num(n_storm)} back in {num(back, 1)} s | {met(back is not None and n_storm and n_storm >= 10000 and back < 60)} |")
    w(f"| connect peak per 100 ms ≤ 3× mean | {num(ptm, 2)}× (attempts: {num(fig(storm, 'attemptPeakToMean'), 2)}×) | {met(ptm is not None and ptm <= 3)} |")
    w(f"| 0 steps lost | {num(lost)} | {met(lost == 0 if lost is not None else None)} |")
    if hostile:
        peak = hostile_peak(hostile)
        attacked = [s for s in hostile if s["figures"].get("variant") != "none"]
        w(f"| {num(max(s['figures'].get('hostile', 0) for s in hostile))} hostile connections without a secret cost "
          f"< 64 MiB RSS | {num(peak, 1)} MiB peak above rest (worst attack) | "
          f"{met(peak is not None and peak < 64)} |")
        rates = [fig([s for s in attacked if s["figures"].get("variant") == v], "enrollSuccessRate")
                 for v, _ in HOSTILE_VARIANTS[1:]]
        worst = min((r for r in rates if r is not None), default=None)
        w(f"| real workers keep enrolling under attack | {num(worst * 100 if worst is not None else None, 1)} % of "
          f"attempts enrolled at worst | {met(bool(attacked) and not any(f.startswith('hostile') for f in failures))} |")
    w()

    w("## swamp")
    w()
    w("| scenario | figure | median |")
    w("|---|---|---|")
    rows = [
        ("idle", idle, [("enrollments/s", ("enrollmentsPerSecond",), 0),
                        ("orchestrator CPU per enrollment (ms)", ("orchestratorCpuMsPerEnrollment",), 3),
                        ("orchestrator RSS before (KB)", ("rssBeforeKb",), 0),
                        ("orchestrator RSS after (KB)", ("rssAfterKb",), 0),
                        ("RSS per connected worker (KB)", ("rssPerWorkerKb",), 2),
                        ("open files after", ("openFilesAfter",), 0)]),
        ("throughput", thr, [("steps/s end to end", ("stepsPerSecond",), 0),
                             ("orchestrator CPU per step (ms)", ("orchestratorCpuMsPerStep",), 3),
                             ("idle: submit→start p50 / p99 / p99.9 (ms)", ("idleSubmitToStart",), None),
                             ("idle: submit→finished p50 / p99 / p99.9 (ms)", ("idleSubmitToFinished",), None),
                             ("loaded: submit→start p50 / p99 / p99.9 (ms)", ("loadedSubmitToStart",), None),
                             ("loaded: submit→finished p50 / p99 / p99.9 (ms)", ("loadedSubmitToFinished",), None)]),
        ("storm", storm, [("stop (s)", ("stopSeconds",), 2), ("boot to Listening (s)", ("bootSeconds",), 2),
                          ("all back after the stop (s)", ("allBackSeconds",), 2),
                          ("all back after Listening (s)", ("backAfterListeningSeconds",), 2),
                          ("connects per 100 ms, mean", ("connectMeanPer100ms",), 1),
                          ("connects per 100 ms, peak", ("connectPeakPer100ms",), 0),
                          ("connects per 100 ms, peak ÷ mean", ("peakToMean",), 2),
                          ("connect attempts per 100 ms after Listening, mean", ("attemptMeanPer100ms",), 1),
                          ("connect attempts per 100 ms, peak ÷ mean", ("attemptPeakToMean",), 2),
                          ("connect attempts / failed", ("connectAttempts",), 0),
                          ("steps lost", ("stepsLost",), 0)]),
    ]
    for name, scen, figures in rows:
        if not scen:
            continue
        args = scen[0]["name"]
        for label, path, digits in figures:
            if digits is None:
                value = " / ".join(num(fig(scen, *path, k), 2) for k in ("p50Ms", "p99Ms", "p999Ms"))
            else:
                value = num(fig(scen, *path), digits)
                if path == ("connectAttempts",):
                    value += " / " + num(fig(scen, "failedAttempts"))
            w(f"| `{args}` | {label} | {value} |")
    for s in query[:1]:
        for key, q in s["figures"].get("queries", {}).items():
            def medOf(figure):
                return med([x["figures"]["queries"][key].get(figure) for x in query])
            # The CLI's whole process (printing included); since issue 20 also the answer over an
            # admin connection and the orchestrator's CPU per query.
            value = num(medOf("medianMs"))
            if medOf("answerMs") is not None:
                value = (f"{num(medOf('answerMs'), 1)} answered, {num(medOf('orchestratorCpuMs'), 1)} orchestrator CPU, "
                         f"{value} CLI")
            if medOf("recordsOrchestratorCpuMs") is not None:  # the rows form, and records beside it
                value += f" (as records: {num(medOf('recordsOrchestratorCpuMs'), 1)} orchestrator CPU)"

            w(f"| `{s['name']}` | `swamp data query '{q['predicate']}'` (ms, {q['results']} results) | {value} |")
    w()

    w("## Celery + Redis on the same workload")
    w()
    if durable or default:
        w(f"Celery {durable[0]['celery'] if durable else default[0]['celery']} with Redis "
          f"{(durable or default)[0]['redis']} from Debian's packages, a worker with "
          f"{num(peer(durable or default, 'workers'))} {(durable or default)[0]['pool']} (the same as swamp's "
          "simulated workers), the same number of no-op tasks submitted from one thread.")
        w()
        w("| configuration | tasks/s | idle submit→start p50 / p99 (ms) | idle submit→finished p50 / p99 (ms) | swamp ÷ Celery |")
        w("|---|---|---|---|---|")
        for label, runs_ in (("durable: acks_late, Redis AOF fsync every second", durable),
                             ("Celery defaults: early ack, Redis in memory", default)):
            if not runs_:
                continue
            t = peer(runs_, "tasksPerSecond")
            w(f"| {label} | {num(t)} | {num(peer(runs_, 'idleSubmitToStart', 'p50Ms'), 2)} / "
              f"{num(peer(runs_, 'idleSubmitToStart', 'p99Ms'), 2)} | {num(peer(runs_, 'idleSubmitToFinished', 'p50Ms'), 2)} / "
              f"{num(peer(runs_, 'idleSubmitToFinished', 'p99Ms'), 2)} | {num(sps / t if sps and t else None, 2)}× |")
        w(f"| swamp (for comparison) | {num(sps)} | {num(fig(thr, 'idleSubmitToStart', 'p50Ms'), 2)} / {num(p99_start, 2)} | "
          f"{num(fig(thr, 'idleSubmitToFinished', 'p50Ms'), 2)} / {num(fig(thr, 'idleSubmitToFinished', 'p99Ms'), 2)} | |")
        w()
    print_fleet(w, raw, machine)
    print_hostile(w, hostile)
    print_graphile(w, raw, machine)
    w("Delivery guarantees, stated plainly:")
    w("- **swamp**: every state change of a step (queued, dispatched with its lease, started, finished) "
      "is committed to SQLite (WAL, `synchronous=NORMAL`) before the orchestrator sends anything that "
      "depends on it (the dispatch, the worker's `ack`, the admin reply). A committed change survives "
      "a crash or `kill -9` of the orchestrator; it is not fsynced per commit, so a power loss or "
      "kernel crash may lose the most recent commits (the database stays consistent). Exactly-once "
      "completion: a result is taken only from the active lease (fencing), a lost lease requeues the "
      "step as a new attempt.")
    w("- **Celery, durable configuration**: `task_acks_late` (the task message is acknowledged after "
      "the task ran: at-least-once; a task may run twice), results in Redis, Redis with an append-only "
      "file fsynced every second (survives a Redis crash, loses up to a second on power loss).")
    w("- **Celery defaults**: the message is acknowledged when the task starts (at-most-once: a worker "
      "crash loses the task), Redis keeps queue and results in memory only.")
    w()
    w("Reproduce: `bench/run.sh` (see bench/README.md).")


if __name__ == "__main__":
    main()

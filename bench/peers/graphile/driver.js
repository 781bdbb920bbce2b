'use strict';
// swamp-bench's no-op workload on graphile-worker, against a PostgreSQL server given by its URL.
// Run through graphile.sh (which installs graphile-worker and sets NODE_PATH); see its header and
// bench/README.md "Peers: graphile-worker".
//
// In a database of its own (graphile_bench_<pid>, created and dropped like swamp-bench's on
// --database), with one worker process (worker.js, concurrency --workers) and this process adding
// jobs of one no-op task:
//   1. idle latency: --probe jobs added one at a time (addJob), each once the previous one is
//      done: add → the task function starting (and → done: its row deleted);
//   2. batched: --jobs jobs in batches of --batch, one graphile_worker.add_jobs() call each, one
//      batch after the other: jobs/s from the first add to the last job done;
//   3. one at a time: --jobs addJob() calls, --inflight of them in flight: jobs/s likewise.
// Times are process.hrtime (CLOCK_MONOTONIC) in both processes. Checks that every job started
// once and was done once, none failed, and the jobs table is empty at the end. Prints
// `graphile name=value` lines, and the whole as JSON to --json.
const fs = require('fs');
const pg = require('pg');
const { makeWorkerUtils } = require('graphile-worker');
const { parseOptions, postgresCpuMs, latency, Tracker, WorkerProcess, now } = require('./support');

const ADD_JOBS = 'select count(*) from graphile_worker.add_jobs(' +
    'array(select json_populate_recordset(null::graphile_worker.job_spec, $1::json)))';

function redacted(url) {
    const u = new URL(url);
    u.password = '';
    return u.toString();
}

async function adminClient(url) {
    const client = new pg.Client({ connectionString: url });
    try {
        await client.connect();
    } catch (error) {
        throw new Error(`cannot connect to PostgreSQL at ${redacted(url)}: ${error.message} — check the URL; ` +
            'the password comes from PGPASSWORD or ~/.pgpass');
    }
    return client;
}

async function adminQuery(client, url, sql, values, hint) {
    try {
        return await client.query(sql, values);
    } catch (error) {
        throw new Error(`${sql} failed on ${redacted(url)}: ${error.message}${hint ? ` — ${hint}` : ''}`);
    }
}

// Once the bench's own connections are gone (pool.end() does not wait for the server to see
// them close), so that FORCE ends none of them while they are still in use.
async function dropDatabase(url, name) {
    const client = await adminClient(url);
    try {
        const sessions = 'select count(*)::int as n from pg_stat_activity where datname = $1';
        for (const deadline = Date.now() + 10000; Date.now() < deadline;) {
            if ((await adminQuery(client, url, sessions, [name])).rows[0].n === 0)
                break;
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await adminQuery(client, url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
        await client.end();
    }
}

async function createDatabase(url) {
    const name = `graphile_bench_${process.pid}`;
    const client = await adminClient(url);
    try {
        await adminQuery(client, url, `CREATE DATABASE ${name}`, [],
            'the bench makes a database per run: grant the role CREATEDB (ALTER ROLE <role> CREATEDB)');
    } finally {
        await client.end();
    }
    const own = new URL(url);
    own.pathname = `/${name}`;
    return { name, url: own.toString() };
}

// CPU of the worker process and of the PostgreSQL server, to take differences of.
async function cpu(ctx) {
    return { worker: await ctx.worker.cpuMs(), postgres: postgresCpuMs(ctx.options.pgPid), at: now() };
}

function phaseFigures(ctx, first, count, startAt, before, after) {
    const { tracker } = ctx;
    const toStart = [];
    const toDone = [];
    let last = 0;
    for (let id = first; id < first + count; id++) {
        toStart.push(tracker.startAt[id] - tracker.addAt[id]);
        toDone.push(tracker.doneAt[id] - tracker.addAt[id]);
        last = Math.max(last, tracker.doneAt[id]);
    }
    const seconds = (last - startAt) / 1e9;
    return {
        jobs: count, seconds, jobsPerSecond: count / seconds,
        workerCpuMsPerJob: (after.worker - before.worker) / count,
        postgresCpuMsPerJob: before.postgres === null ? null : (after.postgres - before.postgres) / count,
        addToStart: latency(toStart), addToDone: latency(toDone),
    };
}

async function probe(ctx) {
    const { tracker, utils } = ctx;
    const first = ctx.nextId;
    const before = await cpu(ctx);
    for (let n = 0; n < ctx.options.probe; n++) {
        const id = ctx.nextId++;
        const target = tracker.finished() + 1;
        tracker.addAt[id] = now();
        await utils.addJob('noop', { id });
        await tracker.until(target, `idle job ${n + 1} of ${ctx.options.probe}`);
    }
    return phaseFigures(ctx, first, ctx.options.probe, before.at, before, await cpu(ctx));
}

async function batched(ctx) {
    const { tracker, utils, options } = ctx;
    const first = ctx.nextId;
    const target = tracker.finished() + options.jobs;
    const before = await cpu(ctx);
    for (let offset = 0; offset < options.jobs; offset += options.batch) {
        const specs = [];
        const at = now();
        for (let id = first + offset; id < first + Math.min(options.jobs, offset + options.batch); id++) {
            tracker.addAt[id] = at;
            specs.push({ identifier: 'noop', payload: { id } });
        }
        await utils.withPgClient((client) => client.query(ADD_JOBS, [JSON.stringify(specs)]));
    }
    ctx.nextId += options.jobs;
    await tracker.until(target, `the ${options.jobs} batched jobs`);
    const figures = phaseFigures(ctx, first, options.jobs, before.at, before, await cpu(ctx));
    return { batch: options.batch, ...figures };
}

async function oneAtATime(ctx) {
    const { tracker, utils, options } = ctx;
    const first = ctx.nextId;
    const target = tracker.finished() + options.jobs;
    let next = 0;
    const lane = async () => {
        while (next < options.jobs) {
            const id = first + next++;
            tracker.addAt[id] = now();
            await utils.addJob('noop', { id });
        }
    };
    const before = await cpu(ctx);
    await Promise.all(Array.from({ length: options.inflight }, lane));
    ctx.nextId += options.jobs;
    await tracker.until(target, `the ${options.jobs} jobs added one at a time`);
    const figures = phaseFigures(ctx, first, options.jobs, before.at, before, await cpu(ctx));
    return { inflight: options.inflight, ...figures };
}

async function checks(ctx) {
    const { tracker } = ctx;
    const failures = [];
    let starts = 0;
    let dones = 0;
    for (let id = 0; id < ctx.nextId; id++) {
        starts += tracker.starts[id] === 1 ? 0 : 1;
        dones += tracker.dones[id] === 1 ? 0 : 1;
    }
    if (starts)
        failures.push(`every job started once: ${starts} of ${ctx.nextId} jobs did not start exactly once`);
    if (dones)
        failures.push(`every job done once: ${dones} of ${ctx.nextId} jobs were not done exactly once`);
    if (tracker.failures)
        failures.push(`no job failed: ${tracker.failures} failed`);
    const { rows } = await ctx.utils.withPgClient((client) =>
        client.query('select count(*)::int as n from graphile_worker._private_jobs'));
    if (rows[0].n)
        failures.push(`the jobs table is empty at the end: ${rows[0].n} rows left`);
    return failures;
}

function print(result) {
    const ms = (figure) => `p50 ${figure.p50Ms.toFixed(2)} ms, p99 ${figure.p99Ms.toFixed(2)} ms`;
    const { idle, batched: b, oneAtATime: s } = result;
    console.log(`idle, ${idle.jobs} jobs one at a time: add→start ${ms(idle.addToStart)}; add→done ${ms(idle.addToDone)}`);
    console.log(`${b.jobs} jobs in batches of ${b.batch}: ${b.jobsPerSecond.toFixed(0)} jobs/s, ${b.seconds.toFixed(2)} s`);
    console.log(`${s.jobs} jobs one at a time, ${s.inflight} in flight: ${s.jobsPerSecond.toFixed(0)} jobs/s, ` +
        `${s.seconds.toFixed(2)} s`);
    for (const failure of result.failures)
        console.log(`FAILED: ${failure}`);
    const line = (name, value, digits) => console.log(`graphile ${name}=${value === null ? 'n/a' : value.toFixed(digits)}`);
    line('batched_jobs_per_s', b.jobsPerSecond, 0);
    line('single_jobs_per_s', s.jobsPerSecond, 0);
    line('idle_add_to_start_p50_ms', idle.addToStart.p50Ms, 2);
    line('idle_add_to_start_p99_ms', idle.addToStart.p99Ms, 2);
    line('batched_worker_cpu_ms_per_job', b.workerCpuMsPerJob, 3);
    line('batched_postgres_cpu_ms_per_job', b.postgresCpuMsPerJob, 3);
    line('single_worker_cpu_ms_per_job', s.workerCpuMsPerJob, 3);
    line('single_postgres_cpu_ms_per_job', s.postgresCpuMsPerJob, 3);
    console.log(`graphile failures=${result.failures.length}`);
}

async function run(options, db, ctx) {
    ctx.utils = await makeWorkerUtils({ pgPool: ctx.pool });
    await ctx.utils.migrate();
    await ctx.worker.start(db.url, options.workers);
    const result = {
        peer: 'graphile-worker', version: require('graphile-worker/package.json').version,
        pg: require('pg/package.json').version, node: process.version, workers: options.workers,
        maxPoolSize: options.workers + 1, database: redacted(options.url),
    };
    console.log(`== graphile-worker ${result.version} (Node ${result.node}, pg ${result.pg}) on ${result.database}: ` +
        `one worker process, concurrency ${options.workers}`);
    result.idle = await probe(ctx);
    result.batched = await batched(ctx);
    result.oneAtATime = await oneAtATime(ctx);
    result.failures = await checks(ctx);
    result.workerLogLines = ctx.worker.logs.length;
    return result;
}

async function main(options) {
    const db = await createDatabase(options.url);
    const tracker = new Tracker(options.probe + 2 * options.jobs);
    const ctx = { options, tracker, nextId: 0, worker: new WorkerProcess(tracker),
        pool: new pg.Pool({ connectionString: db.url, max: options.inflight }) };
    // An idle connection that breaks must not end this process (pg-pool emits its error on the
    // pool); a query on a broken connection reports its own.
    ctx.pool.on('error', () => {});
    try {
        const result = await run(options, db, ctx);
        print(result);
        if (options.json)
            fs.writeFileSync(options.json, JSON.stringify(result) + '\n');
        return result.failures.length ? 1 : 0;
    } finally {
        await ctx.worker.stop();
        if (ctx.utils)
            await ctx.utils.release();
        await ctx.pool.end();
        if (!options.keep)
            await dropDatabase(options.url, db.name);
    }
}

main(parseOptions()).then((code) => process.exit(code), (error) => {
    process.stderr.write(`graphile: ${error.message}\n`);
    process.exit(1);
});

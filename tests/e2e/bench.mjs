// Monitoring-grid smoothness with 100 students: uploads at 1 frame / 2 s per
// student, frame-to-screen time (upload start → <img> load) and Chromium CPU.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { launch, ready, go, signIn, upload } from './lib.mjs';

const cfg = JSON.parse(readFileSync(process.env.BENCH_FILE, 'utf8'));
const phaseSeconds = Number(process.env.PHASE_SECONDS || 20);
const frames = readdirSync(cfg.frames_dir).sort().map((f) => readFileSync(join(cfg.frames_dir, f)));

// CPU ticks (utime+stime) of every process descending from this one: Chromium.
function descendants(root) {
  const kids = new Map();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push({ pid: Number(pid), ticks: Number(f[11]) + Number(f[12]) });
    } catch { /* the process ended */ }
  }
  const out = [];
  const walk = (p) => { for (const k of kids.get(p) || []) { out.push(k); walk(k.pid); } };
  walk(root);
  return out;
}
const cpuTicks = () => descendants(process.pid).reduce((s, p) => s + p.ticks, 0);
const clk = 100; // USER_HZ on Linux

const { page, errors, close } = await launch();
const uploads = new Map(); // student id → upload start times
let running = true;
const uploaders = [];
try {
  await page.goto(process.env.BASE_URL + '/');
  await ready(page);
  await signIn(page, cfg.email, cfg.password);
  await page.waitForSelector('#create-lecture');
  await go(page, `#/lectures/${cfg.lecture_id}/monitor`);
  await page.waitForFunction(() => document.querySelectorAll('.tile').length === 100);
  await page.evaluate(() => {
    window.benchLoads = [];
    document.addEventListener('load', (e) => {
      const tile = e.target.closest && e.target.closest('.tile');
      if (tile && e.target.tagName === 'IMG') window.benchLoads.push([Number(tile.dataset.student), Date.now()]);
    }, true);
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metric = async (name) => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === name)?.value || 0;

  // Reference: the open grid with nobody uploading.
  {
    const c0 = cpuTicks();
    const task0 = await metric('TaskDuration');
    const w0 = Date.now();
    await page.waitForTimeout(10000);
    const wall = (Date.now() - w0) / 1000;
    const cpu = ((cpuTicks() - c0) / clk / wall) * 100;
    const task = (((await metric('TaskDuration')) - task0) / wall) * 100;
    console.log(`idle grid (no uploads): Chromium CPU ${cpu.toFixed(1)}% of one core; renderer main thread busy ${task.toFixed(1)}%`);
    console.log(`METRIC cpu-%-idle ${cpu.toFixed(1)}`);
  }

  // Each student uploads every interval, spread evenly over the interval.
  cfg.students.forEach((s, i) => {
    uploads.set(s.id, []);
    uploaders.push((async () => {
      await new Promise((r) => setTimeout(r, (i * cfg.interval_ms) / cfg.students.length));
      let n = 0;
      while (running) {
        const t0 = Date.now();
        uploads.get(s.id).push(t0);
        await upload(cfg.lecture_id, s.token, frames[n++ % frames.length]);
        await new Promise((r) => setTimeout(r, Math.max(0, cfg.interval_ms - (Date.now() - t0))));
      }
    })());
  });
  await page.waitForTimeout(4000); // warm-up: every student has uploaded

  const results = [];
  for (const size of [240, 120]) {
    await page.fill('#tile-size', String(size));
    await page.dispatchEvent('#tile-size', 'input');
    await page.waitForTimeout(2500);
    await page.evaluate(() => { window.benchLoads = []; });
    const visible = await page.evaluate(() => [...document.querySelectorAll('.tile')].filter((t) => {
      const r = t.getBoundingClientRect();
      return r.bottom > 0 && r.top < innerHeight;
    }).length);
    const c0 = cpuTicks();
    const task0 = await metric('TaskDuration');
    const w0 = Date.now();
    await page.waitForTimeout(phaseSeconds * 1000);
    const wall = (Date.now() - w0) / 1000;
    const cpu = ((cpuTicks() - c0) / clk / wall) * 100;
    const task = (((await metric('TaskDuration')) - task0) / wall) * 100;
    const loads = await page.evaluate(() => window.benchLoads);
    const lat = [];
    for (const [sid, t] of loads) {
      const starts = uploads.get(sid) || [];
      let best = -1;
      for (const u of starts) if (u <= t) best = u;
      if (best > 0) lat.push(t - best);
    }
    lat.sort((a, b) => a - b);
    const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
    const r = { size, visible, loads: loads.length, p50: q(0.5), p95: q(0.95), max: lat[lat.length - 1], cpu, task };
    results.push(r);
    console.log(`tile ${size}px: ${visible} tiles in view, ${loads.length} frame loads in ${wall.toFixed(1)} s; ` +
      `frame-to-screen p50 ${r.p50} ms, p95 ${r.p95} ms, max ${r.max} ms; ` +
      `Chromium CPU ${cpu.toFixed(1)}% of one core; renderer main thread busy ${task.toFixed(1)}%`);
    console.log(`METRIC p50-ms-${size}px ${r.p50}`);
    console.log(`METRIC p95-ms-${size}px ${r.p95}`);
    console.log(`METRIC cpu-%-${size}px ${cpu.toFixed(1)}`);
    console.log(`METRIC main-busy-%-${size}px ${task.toFixed(1)}`);
  }
  const heap = await metric('JSHeapUsedSize');
  console.log(`JS heap ${(heap / 1048576).toFixed(1)} MiB; uploads ${[...uploads.values()].reduce((s, a) => s + a.length, 0)}`);
  if (errors.length) throw new Error('page errors:\n' + errors.join('\n'));
} finally {
  running = false;
  await Promise.allSettled(uploaders);
  await close();
}

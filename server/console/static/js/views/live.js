// Live 1:1 session with a student (docs/protocol.md and the live-session
// contract): the console is the offerer; it receives the student's screen,
// sends its camera and microphone, and forwards remote-control input over
// two DataChannels (unordered moves, reliable everything else).
import { h, clear } from '../dom.js';
import { ApiError, all } from '../api.js';

const V = 1;
const modsOf = (e) => (e.shiftKey ? 1 : 0) | (e.ctrlKey ? 2 : 0) | (e.altKey ? 4 : 0) | (e.metaKey ? 8 : 0);
const buttons = ['left', 'middle', 'right'];
// Signaling errors after which the room is gone; others are reported only.
const fatal = new Set(['forbidden', 'not_found', 'lecture_inactive', 'not_member', 'not_joined', 'service_unavailable', 'internal_error']);
// Why the student's side ended the session (peer_left code) or control
// (control_state reason): docs/protocol.md, consent.
const studentReasons = new Set(['student_ended', 'consent_refused', 'consent_timeout', 'consent_unavailable']);

export async function view(ctx) {
  const { t } = ctx;
  const [lectureId, studentId] = ctx.params.map(Number);
  const [lecture, members] = await Promise.all([
    ctx.api('GET', `/lectures/${lectureId}`),
    all(`/lectures/${lectureId}/students`),
  ]);
  const member = members.items.find((m) => m.student_id === studentId);
  if (!member) {
    throw new ApiError(404, { code: 'not_found' });
  }
  const session = new LiveSession(ctx, lectureId, studentId, member.name);
  ctx.onLeave(() => session.close());
  const node = session.render(lecture);
  session.start();
  return node;
}

class LiveSession {
  constructor(ctx, lectureId, studentId, name) {
    this.ctx = ctx;
    this.t = ctx.t;
    this.lectureId = lectureId;
    this.studentId = studentId;
    this.name = name;
    this.ws = null;
    this.pc = null;
    this.channels = {};
    this.local = null;
    this.controlling = false;
    this.accepted = false; // the agent said control is on
    this.held = []; // input held until it does
    this.closed = false;
    this.seq = 0;
    this.pendingCandidates = [];
    this.remoteSet = false;
    this.lastStats = null;
    this.lastVoice = null;
    this.statsTimer = 0;
    this.pingTimer = 0;
    this.wheelAcc = { x: 0, y: 0 };
  }

  render(lecture) {
    const t = this.t;
    this.statusEl = h('p', { id: 'live-status', role: 'status', class: 'muted' }, t('live.connecting'));
    this.errorEl = h('div', { id: 'live-error', role: 'alert', class: 'live-error', hidden: true });
    this.video = h('video', { id: 'live-video', autoplay: true, playsinline: true, muted: true, tabindex: 0,
      'aria-label': t('live.video.label') });
    this.audio = h('audio', { id: 'live-audio', autoplay: true });
    this.camera = h('video', { id: 'live-camera', class: 'camera', autoplay: true, playsinline: true, muted: true,
      'aria-label': t('live.camera.label'), hidden: true });
    this.placeholder = h('p', { class: 'stage-msg', id: 'live-placeholder' }, t('live.waiting'));
    this.video.addEventListener('playing', () => { this.placeholder.hidden = true; });
    this.stage = h('div', { class: 'stage', id: 'stage' }, this.video, this.placeholder, this.camera);
    // The stage takes the rest of the window, so the bottom of the
    // student's screen (a taskbar, an error line) is never below the fold.
    this.fit = () => {
      if (document.fullscreenElement === this.stage) { this.stage.style.height = ''; return; }
      const top = this.stage.getBoundingClientRect().top + window.scrollY;
      this.stage.style.height = Math.max(240, window.innerHeight - top - 16) + 'px';
    };
    window.addEventListener('resize', this.fit);
    requestAnimationFrame(this.fit);
    // In full screen the toolbar (and End session) moves onto the stage as
    // a small bar, and comes back after.
    this.onFullscreen = () => {
      const full = document.fullscreenElement === this.stage;
      if (full && this.toolbar.parentNode !== this.stage) {
        this.toolbarHome = this.toolbar.nextSibling;
        this.toolbar.append(this.endBtn);
        this.stage.append(this.toolbar);
      } else if (!full && this.toolbar.parentNode === this.stage) {
        this.titleRow.append(this.endBtn);
        this.toolbarParent.insertBefore(this.toolbar, this.toolbarHome);
      }
      this.toolbar.classList.toggle('fs-bar', full);
      this.fullBtn.textContent = this.t(full ? 'live.fullscreen.exit' : 'live.fullscreen');
      this.fit();
    };
    document.addEventListener('fullscreenchange', this.onFullscreen);
    // The professor's microphone and camera start off: opening a screen
    // to look at it must not put their face and voice on the student's PC.
    this.muteBtn = h('button', { type: 'button', class: 'secondary', id: 'live-mute', 'aria-pressed': 'true', disabled: true,
      onclick: () => this.toggleTrack('audio') }, t('live.unmute'));
    this.camBtn = h('button', { type: 'button', class: 'secondary', id: 'live-camera-toggle', 'aria-pressed': 'true', disabled: true,
      onclick: () => this.toggleTrack('video') }, t('live.camon'));
    this.controlBtn = h('button', { type: 'button', id: 'live-control', 'aria-pressed': 'false', disabled: true,
      onclick: () => (this.controlling ? this.stopControl() : this.startControl()) }, t('live.control'));
    this.fullBtn = h('button', { type: 'button', class: 'secondary', id: 'live-fullscreen',
      onclick: () => (document.fullscreenElement ? document.exitFullscreen() : this.fullscreen()) }, t('live.fullscreen'));
    this.screenSel = h('select', { id: 'live-screen', disabled: true, onchange: () => this.selectScreen() });
    this.statsEl = h('output', { id: 'live-stats', 'aria-live': 'off' }, t('live.stats.none'));
    // The student's voice level (from the received audio's energy), so a
    // silent student is told apart from a broken microphone.
    this.voiceMeter = h('meter', { id: 'live-voice', min: 0, max: 0.3, low: 0.01, value: 0 });
    this.controlNote = h('p', { id: 'live-control-note', class: 'note', hidden: true }, t('live.control.on'));
    this.mediaNote = h('p', { id: 'live-media-note', class: 'warn', hidden: true });
    // Why control ended on the student's side (they took it back, or said no).
    this.controlEndNote = h('p', { id: 'live-control-end', class: 'note', role: 'status', hidden: true });
    // What of the student's sound works (their agent's media message).
    this.studentMedia = h('p', { id: 'live-student-media', class: 'note', role: 'status', hidden: true });
    this.endBtn = h('button', { type: 'button', class: 'danger', id: 'live-end', onclick: () => this.end() }, t('live.end'));
    this.bindInput();
    this.titleRow = h('div', { class: 'title-row' }, h('h1', {}, t('live.title', { name: this.name })), h('span', { class: 'spacer' }), this.endBtn);
    this.toolbar = h('div', { class: 'toolbar', id: 'live-toolbar', role: 'toolbar', 'aria-label': t('live.title', { name: this.name }) },
      this.controlBtn, this.muteBtn, this.camBtn, this.fullBtn,
      h('label', { for: 'live-screen' }, t('live.screen')), this.screenSel,
      h('span', { class: 'spacer' }),
      h('label', { for: 'live-voice', class: 'voice' }, t('live.voice', { name: this.name }), this.voiceMeter),
      h('span', { class: 'quality' }, h('span', { class: 'visually-hidden' }, t('live.quality')), this.statsEl));
    const section = h('section', { class: 'live' },
      h('p', { class: 'crumbs' }, h('a', { href: '#/lectures' }, t('nav.lectures')), ' / ',
        h('a', { href: `#/lectures/${this.lectureId}` }, lecture.title), ' / ',
        h('a', { href: `#/lectures/${this.lectureId}/monitor` }, t('lecture.monitor'))),
      this.titleRow, this.statusEl, this.errorEl, this.toolbar,
      this.controlNote, this.controlEndNote, this.mediaNote, this.studentMedia, this.stage, this.audio);
    this.toolbarParent = section;
    return section;
  }

  status(key) { this.statusEl.textContent = this.t(key); }

  // fail explains why the session cannot go on and offers a retry.
  fail(key, detail, params) {
    if (this.closed) return;
    this.teardown();
    this.status('live.ended');
    this.placeholder.textContent = this.t('live.ended');
    clear(this.errorEl).append(h('p', {}, this.t(key, params) + (detail ? ` (${detail})` : '')),
      h('button', { type: 'button', id: 'live-retry', onclick: () => this.retry() }, this.t('common.retry')));
    this.errorEl.hidden = false;
  }

  retry() {
    this.studentEnded = false;
    this.errorEl.hidden = true;
    this.closed = false;
    this.status('live.connecting');
    this.placeholder.textContent = this.t('live.waiting');
    this.start();
  }

  async start() {
    try {
      const ticket = await this.ctx.api('POST', '/signal/ticket');
      if (this.closed) return;
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const ws = new WebSocket(`${proto}//${location.host}/api/v1/signal?ticket=${encodeURIComponent(ticket.ticket)}`);
      this.ws = ws;
      ws.addEventListener('open', () => {
        this.send({ type: 'join', lecture_id: this.lectureId, student_id: this.studentId, role: 'professor' });
        this.pingTimer = setInterval(() => this.send({ type: 'ping' }), 20000);
      });
      ws.addEventListener('message', (ev) => this.onSignal(ev.data));
      ws.addEventListener('close', (ev) => {
        if (this.ws !== ws || this.closed) return;
        if (ev.code === 4001) this.fail('live.err.taken_over');
        else this.fail('live.err.socket');
      });
    } catch (e) {
      this.fail('live.err.socket', this.ctx.app.errorText(e));
    }
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ v: V, ...msg }));
  }

  async onSignal(raw) {
    let m;
    try { m = JSON.parse(raw); } catch { return; }
    switch (m.type) {
      case 'joined':
        this.status('live.waiting');
        await this.connect(m.ice_servers || []);
        break;
      case 'answer':
        if (!this.pc) return;
        await this.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        this.remoteSet = true;
        for (const c of this.pendingCandidates.splice(0)) await this.addCandidate(c);
        break;
      case 'candidate':
        if (!this.pc) return;
        if (this.remoteSet) await this.addCandidate(m.candidate);
        else this.pendingCandidates.push(m.candidate);
        break;
      case 'control_end':
        if (this.controlling) this.stopControl(false);
        break;
      case 'error':
        // A student who just refused or ended leaves the room: an offer
        // that crossed their leave finds nobody, which must not hide why.
        if (m.code === 'student_not_connected' && this.studentEnded) break;
        if (m.code === 'student_not_connected' || m.code === 'taken_over') this.fail('live.err.' + m.code);
        else if (fatal.has(m.code)) this.fail(this.ctx.i18n.has('err.' + m.code) ? 'err.' + m.code : 'live.err.socket', m.message);
        else if (m.code !== 'rate_limited') this.ctx.app.notify(m.message || m.code, true);
        break;
      case 'kicked':
        this.fail('live.err.taken_over');
        break;
      case 'peer_left':
        // The student's agent may say why it ended (consent, or the
        // student's End button); an unknown code is a plain leave.
        if (studentReasons.has(m.code)) {
          this.studentEnded = true;
          this.fail('live.end.' + m.code, '', { name: this.name });
        } else this.fail('live.err.student_left');
        break;
      default:
    }
  }

  async addCandidate(c) {
    try {
      await this.pc.addIceCandidate(c && c.candidate ? c : null);
    } catch { /* a candidate the browser cannot use is not fatal */ }
  }

  async openMedia() {
    try {
      this.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
    } catch (e) {
      try { this.local = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch { this.local = null; }
      const denied = e && (e.name === 'NotAllowedError' || e.name === 'SecurityError');
      this.mediaNote.textContent = denied ? this.t('live.err.permission') : this.t('live.nomedia', { reason: e && e.name ? e.name : String(e) });
      this.mediaNote.hidden = false;
    }
    if (!this.local) return;
    const cam = this.local.getVideoTracks()[0];
    if (cam) {
      cam.enabled = false;
      this.camera.srcObject = new MediaStream([cam]);
      this.camera.hidden = true;
      this.camBtn.disabled = false;
    }
    const mic = this.local.getAudioTracks()[0];
    if (mic) {
      mic.enabled = false;
      this.muteBtn.disabled = false;
    }
    this.setTrackButtons();
  }

  // setTrackButtons shows the microphone's and camera's state on their
  // buttons (aria-pressed: muted / camera off).
  setTrackButtons() {
    const mic = this.local && this.local.getAudioTracks()[0];
    const cam = this.local && this.local.getVideoTracks()[0];
    const micOn = !!(mic && mic.enabled);
    const camOn = !!(cam && cam.enabled);
    this.muteBtn.setAttribute('aria-pressed', String(!micOn));
    this.muteBtn.textContent = this.t(micOn ? 'live.mute' : 'live.unmute');
    this.camBtn.setAttribute('aria-pressed', String(!camOn));
    this.camBtn.textContent = this.t(camOn ? 'live.camoff' : 'live.camon');
    this.camera.hidden = !camOn;
  }

  async connect(iceServers) {
    await this.openMedia();
    if (this.closed) return;
    const pc = new RTCPeerConnection({ iceServers });
    this.pc = pc;
    this.remoteSet = false;
    this.pendingCandidates = [];
    pc.addTransceiver('video', { direction: 'recvonly' }); // the student's screen
    const mic = this.local && this.local.getAudioTracks()[0];
    if (mic) pc.addTransceiver(mic, { direction: 'sendrecv', streams: [this.local] });
    else pc.addTransceiver('audio', { direction: 'recvonly' });
    const cam = this.local && this.local.getVideoTracks()[0];
    if (cam) pc.addTransceiver(cam, { direction: 'sendonly', streams: [this.local] });

    this.channels = {
      moves: pc.createDataChannel('control-moves', { ordered: false, maxRetransmits: 0 }),
      keys: pc.createDataChannel('control', { ordered: true }),
      session: pc.createDataChannel('session', { ordered: true }),
    };
    this.channels.session.addEventListener('message', (ev) => this.onSession(ev.data));
    this.channels.session.addEventListener('open', () => this.sendMedia());
    this.channels.keys.addEventListener('open', () => { this.controlBtn.disabled = false; });

    pc.addEventListener('track', (ev) => {
      if (ev.track.kind === 'video') {
        this.video.srcObject = ev.streams[0] || new MediaStream([ev.track]);
        this.controlBtn.disabled = false;
      } else {
        this.audio.srcObject = ev.streams[0] || new MediaStream([ev.track]);
      }
    });
    pc.addEventListener('icecandidate', (ev) => {
      this.send({ type: 'candidate', candidate: ev.candidate ? ev.candidate.toJSON() : {} });
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc !== this.pc) return;
      if (pc.connectionState === 'connected') { this.status('live.connected'); this.startStats(); }
      if (pc.connectionState === 'failed') this.fail('live.err.ice');
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    this.send({ type: 'offer', sdp: pc.localDescription.sdp });
  }

  onSession(raw) {
    let m;
    try { m = JSON.parse(raw); } catch { return; }
    if (m.type === 'screens' && Array.isArray(m.screens)) {
      clear(this.screenSel);
      for (const s of m.screens) {
        const label = this.t('live.screen.option', { n: s.index + 1, name: s.name || '', w: s.width, h: s.height })
          + (s.primary ? ` · ${this.t('live.screen.primary')}` : '');
        this.screenSel.append(h('option', { value: s.index }, label));
      }
      if (typeof m.current === 'number') this.screenSel.value = String(m.current);
      this.screenSel.disabled = m.screens.length < 2;
    } else if (m.type === 'media') {
      this.showStudentMedia(m);
    } else if (m.type === 'control_state') {
      if (m.accepted && this.controlling) this.controlAccepted();
      const known = studentReasons.has(m.reason);
      if (!m.accepted && this.controlling) {
        this.stopControl(false);
        if (!known) this.ctx.app.notify(this.t('live.control.refused', { reason: m.reason || '' }), true);
      }
      // The student's own word stays on the page (control_end on the
      // socket may have stopped control already).
      if (!m.accepted && known) {
        this.controlEndNote.textContent = this.t('live.control.end.' + m.reason, { name: this.name });
        this.controlEndNote.hidden = false;
      }
    }
  }

  // showStudentMedia says what the professor cannot have: the student's
  // voice (no microphone, or muted) or being heard (no speakers).
  showStudentMedia(m) {
    const notes = [];
    if (m.microphone === 'missing') notes.push(this.t('live.student.nomic', { name: this.name }));
    if (m.microphone === 'muted') notes.push(this.t('live.student.muted', { name: this.name }));
    if (m.speaker === 'missing') notes.push(this.t('live.student.nospeaker', { name: this.name }));
    this.studentMedia.textContent = notes.join(' ');
    this.studentMedia.hidden = notes.length === 0;
  }

  // sendMedia tells the student's agent whether the camera and the
  // microphone are on (a disabled camera still sends black frames).
  sendMedia() {
    const ch = this.channels.session;
    if (!ch || ch.readyState !== 'open') return;
    const mic = this.local && this.local.getAudioTracks()[0];
    const cam = this.local && this.local.getVideoTracks()[0];
    const state = (track, offWord) => (!track ? 'missing' : (track.enabled ? 'on' : offWord));
    ch.send(JSON.stringify({ type: 'media', microphone: state(mic, 'muted'), camera: state(cam, 'off') }));
  }

  selectScreen() {
    const ch = this.channels.session;
    if (ch && ch.readyState === 'open') ch.send(JSON.stringify({ type: 'select_screen', index: Number(this.screenSel.value) }));
  }

  toggleTrack(kind) {
    if (!this.local) return;
    const track = kind === 'audio' ? this.local.getAudioTracks()[0] : this.local.getVideoTracks()[0];
    if (!track) return;
    track.enabled = !track.enabled;
    this.setTrackButtons();
    this.sendMedia();
  }

  // Remote control ---------------------------------------------------------

  startControl() {
    this.controlEndNote.hidden = true;
    this.send({ type: 'control_start' });
    this.controlling = true;
    // Until the agent says control is on (its injector ready, or the
    // student said yes), input is held here, not lost: a professor who
    // clicks and types at once loses no keys.
    this.accepted = false;
    this.held = [];
    this.controlBtn.textContent = this.t('live.control.stop');
    this.controlBtn.setAttribute('aria-pressed', 'true');
    this.controlNote.hidden = false;
    this.stage.classList.add('controlling');
    this.video.focus();
  }

  // controlAccepted sends what was held while the agent got ready.
  controlAccepted() {
    if (this.accepted) return;
    this.accepted = true;
    const held = this.held || [];
    this.held = [];
    held.forEach((ev) => this.emit(ev));
  }

  stopControl(tell = true) {
    if (!this.controlling) return;
    this.held = [];
    this.accepted = true; // release_all goes out at once
    this.emit({ type: 'release_all' });
    if (tell) this.send({ type: 'control_end' });
    this.controlling = false;
    this.controlBtn.textContent = this.t('live.control');
    this.controlBtn.setAttribute('aria-pressed', 'false');
    this.controlNote.hidden = true;
    this.stage.classList.remove('controlling');
    if (document.pointerLockElement) document.exitPointerLock();
    if (navigator.keyboard && navigator.keyboard.unlock) navigator.keyboard.unlock();
  }

  emit(ev) {
    if (this.controlling && !this.accepted) {
      // Held until control is on: the last move stands for all of them.
      const last = this.held[this.held.length - 1];
      if (ev.type === 'move' && last && last.type === 'move') this.held[this.held.length - 1] = ev;
      else if (this.held.length < 500) this.held.push(ev);
      return;
    }
    ev.t = Date.now();
    const json = JSON.stringify(ev);
    const ch = ev.type === 'move' ? this.channels.moves : this.channels.keys;
    if (ch && ch.readyState === 'open') {
      if (ev.type === 'move' && ch.bufferedAmount > 16384) return; // drop moves rather than queue them
      ch.send(json);
    } else {
      this.send({ type: 'control', control: ev });
    }
  }

  // point maps a mouse event to 0..1 of the shown video, letterbox excluded.
  point(e) {
    const r = this.video.getBoundingClientRect();
    const vw = this.video.videoWidth || r.width;
    const vh = this.video.videoHeight || r.height;
    const scale = Math.min(r.width / vw, r.height / vh);
    const w = vw * scale;
    const hh = vh * scale;
    const x = (e.clientX - r.left - (r.width - w) / 2) / w;
    const y = (e.clientY - r.top - (r.height - hh) / 2) / hh;
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return { x: clamp(x), y: clamp(y), inside: x >= 0 && x <= 1 && y >= 0 && y <= 1 };
  }

  bindInput() {
    const v = this.video;
    const on = (type, fn, opts) => v.addEventListener(type, (e) => { if (this.controlling) fn(e); }, opts);
    on('mousemove', (e) => {
      const p = this.point(e);
      if (p.inside) this.emit({ type: 'move', x: p.x, y: p.y, seq: ++this.seq });
    });
    on('mousedown', (e) => {
      e.preventDefault();
      v.focus();
      const p = this.point(e);
      this.emit({ type: 'down', x: p.x, y: p.y, button: buttons[e.button] || 'left', mods: modsOf(e) });
    });
    on('mouseup', (e) => {
      e.preventDefault();
      const p = this.point(e);
      this.emit({ type: 'up', x: p.x, y: p.y, button: buttons[e.button] || 'left', mods: modsOf(e) });
    });
    on('dblclick', (e) => {
      e.preventDefault();
      const p = this.point(e);
      this.emit({ type: 'dblclick', x: p.x, y: p.y, button: buttons[e.button] || 'left' });
    });
    on('contextmenu', (e) => e.preventDefault());
    on('wheel', (e) => {
      e.preventDefault();
      const unit = e.deltaMode === 1 ? 33 : e.deltaMode === 2 ? 300 : 1;
      this.wheelAcc.x += e.deltaX * unit;
      this.wheelAcc.y += e.deltaY * unit;
      const dx = Math.trunc(this.wheelAcc.x / 100);
      const dy = Math.trunc(this.wheelAcc.y / 100);
      if (!dx && !dy) return;
      this.wheelAcc.x -= dx * 100;
      this.wheelAcc.y -= dy * 100;
      const p = this.point(e);
      this.emit({ type: 'wheel', x: p.x, y: p.y, dx: clampSteps(dx), dy: clampSteps(dy) });
    }, { passive: false });
    const key = (type) => (e) => {
      e.preventDefault(); // keep the browser's own shortcuts out while controlling
      e.stopPropagation();
      const ev = { type, code: e.code || 'Unidentified', mods: modsOf(e) };
      if (e.key && e.key.length <= 32) ev.key = e.key;
      this.emit(ev);
    };
    on('keydown', key('keydown'));
    on('keyup', key('keyup'));
    this.onBlur = () => { if (this.controlling) this.emit({ type: 'release_all' }); };
    this.onVisibility = () => { if (document.hidden) this.onBlur(); };
    v.addEventListener('blur', this.onBlur);
    window.addEventListener('blur', this.onBlur);
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  async fullscreen() {
    try {
      await this.stage.requestFullscreen();
      // In full screen the browser lets a page capture Escape and system shortcuts.
      if (navigator.keyboard && navigator.keyboard.lock) await navigator.keyboard.lock();
    } catch { /* full screen refused: the page still works */ }
  }

  // Connection quality ------------------------------------------------------

  startStats() {
    if (this.statsTimer) return;
    this.statsTimer = setInterval(() => this.sampleStats(), 1000);
  }

  async sampleStats() {
    if (!this.pc) return;
    const report = await this.pc.getStats();
    let inbound = null;
    let voice = null;
    let rtt = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') inbound = s;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') voice = s;
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && s.currentRoundTripTime !== undefined) rtt = s.currentRoundTripTime;
    });
    if (voice) {
      // RMS over the last second: energy is the sum of squared levels
      // times duration, so sqrt(dE/dt) is the mean level.
      const pv = this.lastVoice;
      this.lastVoice = { e: voice.totalAudioEnergy || 0, d: voice.totalSamplesDuration || 0 };
      const dd = pv ? this.lastVoice.d - pv.d : 0;
      this.voiceMeter.value = dd > 0 ? Math.sqrt(Math.max(0, this.lastVoice.e - pv.e) / dd) : (voice.audioLevel || 0);
    }
    if (!inbound) {
      this.statsEl.textContent = this.t('live.stats.none') + (rtt === null ? '' : ` · RTT ${Math.round(rtt * 1000)} ms`);
      return;
    }
    const prev = this.lastStats;
    this.lastStats = { t: inbound.timestamp, bytes: inbound.bytesReceived, frames: inbound.framesDecoded };
    if (!prev) return;
    const dt = (inbound.timestamp - prev.t) / 1000;
    if (dt <= 0) return;
    const fps = inbound.framesPerSecond ?? (inbound.framesDecoded - prev.frames) / dt;
    const kbps = ((inbound.bytesReceived - prev.bytes) * 8) / dt / 1000;
    this.statsEl.textContent = this.t('live.stats', {
      size: inbound.frameWidth ? `${inbound.frameWidth}×${inbound.frameHeight}` : '–',
      fps: Math.round(fps || 0), kbps: Math.round(kbps), rtt: rtt === null ? '–' : Math.round(rtt * 1000),
    });
  }

  // Ending ----------------------------------------------------------------

  end() {
    this.close();
    this.ctx.app.navigate(`/lectures/${this.lectureId}/monitor`);
  }

  teardown() {
    if (this.controlling) this.stopControl();
    if (document.fullscreenElement === this.stage) document.exitFullscreen().catch(() => {});
    clearInterval(this.statsTimer);
    clearInterval(this.pingTimer);
    this.statsTimer = 0;
    this.pingTimer = 0;
    this.lastStats = null;
    if (this.pc) { this.pc.close(); this.pc = null; }
    if (this.local) { this.local.getTracks().forEach((tr) => tr.stop()); this.local = null; }
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ v: V, type: 'leave' }));
      ws.close(1000);
    }
    this.video.srcObject = null;
    this.placeholder.hidden = false;
    this.camera.srcObject = null;
    this.audio.srcObject = null;
    this.controlBtn.disabled = true;
    this.muteBtn.disabled = true;
    this.camBtn.disabled = true;
    this.screenSel.disabled = true;
  }

  close() {
    if (this.closed) return;
    this.teardown();
    this.closed = true;
    window.removeEventListener('blur', this.onBlur);
    document.removeEventListener('visibilitychange', this.onVisibility);
    window.removeEventListener('resize', this.fit);
    document.removeEventListener('fullscreenchange', this.onFullscreen);
  }
}

function clampSteps(n) { return Math.max(-20, Math.min(20, n)); }

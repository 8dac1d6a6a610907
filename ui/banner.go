package ui

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/didacto/didacto/agent/app"
)

// bannerWidth is the live panel's width: the professor's camera at
// 320x240 and a little room; small enough to sit at a screen's side.
const bannerWidth = 344

// panelTitle names the live panel's window (tests find it by this name).
const panelTitle = "DIDACTO live"

// bannerView is the live panel: a coloured strip with the message, the
// student's buttons (take back control, end the session, collapse), the
// consent question when the lab's policy asks, and below, unless
// collapsed, the professor's camera with their name, the microphone's
// mute button and what of the session's sound is missing.
type bannerView struct {
	bg         *canvas.Rectangle
	text       *canvas.Text
	endControl *widget.Button
	endSession *widget.Button
	collapse   *widget.Button
	actions    *fyne.Container
	inner      *fyne.Container // question, actions and body

	question *widget.Label
	hint     *widget.Label
	allow    *widget.Button
	refuse   *widget.Button
	askBox   *fyne.Container

	camera  *canvas.Image
	caption *widget.Label
	camBox  *fyne.Container
	notes   *widget.Label
	mute    *widget.Button
	body    *fyne.Container
	root    fyne.CanvasObject
}

var (
	viewedColour     = color.NRGBA{R: 0xe0, G: 0x8a, B: 0x00, A: 0xff}
	controlledColour = color.NRGBA{R: 0xd0, G: 0x31, B: 0x2d, A: 0xff}
	askingColour     = color.NRGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff}
)

func (u *UI) newBannerView() *bannerView {
	b := &bannerView{bg: canvas.NewRectangle(viewedColour), text: canvas.NewText("", color.White)}
	b.text.TextStyle = fyne.TextStyle{Bold: true}
	b.text.TextSize = 14
	b.text.Alignment = fyne.TextAlignCenter
	b.collapse = widget.NewButtonWithIcon("", theme.MenuDropUpIcon(), u.toggleCollapsed)
	b.collapse.Importance = widget.LowImportance
	strip := container.NewStack(b.bg, container.NewBorder(nil, nil, nil, b.collapse, container.NewCenter(b.text)))
	b.endControl = widget.NewButtonWithIcon("", theme.CancelIcon(), u.endControl)
	b.endControl.Importance = widget.WarningImportance
	b.endSession = widget.NewButtonWithIcon("", theme.MediaStopIcon(), u.endSession)
	b.endSession.Importance = widget.DangerImportance
	b.actions = container.NewGridWithColumns(2, b.endControl, b.endSession)

	b.question = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	b.question.Wrapping = fyne.TextWrapWord
	b.hint = widget.NewLabel("")
	b.hint.Wrapping = fyne.TextWrapWord
	b.allow = widget.NewButtonWithIcon("", theme.ConfirmIcon(), func() { u.answer(true) })
	b.allow.Importance = widget.HighImportance
	b.refuse = widget.NewButtonWithIcon("", theme.CancelIcon(), func() { u.answer(false) })
	b.askBox = container.NewVBox(b.question, b.hint, container.NewGridWithColumns(2, b.refuse, b.allow))
	b.askBox.Hide()

	b.camera = canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 320, 240)))
	b.camera.FillMode = canvas.ImageFillContain
	b.camera.SetMinSize(fyne.NewSize(320, 240))
	b.caption = widget.NewLabel("")
	b.caption.Alignment = fyne.TextAlignCenter
	b.caption.TextStyle = fyne.TextStyle{Bold: true}
	b.camBox = container.NewVBox(container.NewCenter(b.camera), b.caption)
	b.camBox.Hide()
	b.notes = widget.NewLabel("")
	b.notes.Wrapping = fyne.TextWrapWord
	b.notes.Hide()
	b.mute = widget.NewButtonWithIcon("", theme.VolumeUpIcon(), u.toggleMute)
	b.body = container.NewVBox(b.camBox, container.NewHBox(b.mute), b.notes)
	b.inner = container.NewVBox(b.askBox, b.actions, b.body)
	b.root = container.NewVBox(strip, container.NewPadded(b.inner))
	return b
}

func (b *bannerView) set(msg string, c color.Color) {
	b.text.Text = msg
	b.bg.FillColor = c
	b.text.Refresh()
	b.bg.Refresh()
}

func (u *UI) bannerMessage(l app.Live) string {
	if l.Mode == app.LiveControlled {
		return u.tr.T("live.controlling", "name", u.professor(l))
	}
	return u.tr.T("live.viewing", "name", u.professor(l))
}

// mediaNotes says what of the session's sound and camera does not work,
// in the student's words.
func (u *UI) mediaNotes(l app.Live) []string {
	name := u.professor(l)
	var notes []string
	if l.Microphone == app.DeviceMissing {
		notes = append(notes, u.tr.T("live.no_microphone", "name", name))
	}
	if l.Speaker == app.DeviceMissing {
		notes = append(notes, u.tr.T("live.no_speaker", "name", name))
	}
	if l.ProfessorMuted {
		notes = append(notes, u.tr.T("live.professor_muted", "name", name))
	}
	if !l.Camera {
		notes = append(notes, u.tr.T("live.camera_off", "name", name))
	}
	return notes
}

// showMedia updates the panel's camera, button and notes. UI thread only.
func (u *UI) showMedia(l app.Live) {
	b := u.bannerText
	b.caption.SetText(u.professor(l))
	if l.Camera {
		b.camBox.Show()
	} else {
		b.camBox.Hide()
	}
	switch l.Microphone {
	case app.DeviceMuted:
		b.mute.SetText(u.tr.T("live.unmute"))
		b.mute.SetIcon(theme.VolumeMuteIcon())
		b.mute.Show()
	case app.DeviceOn:
		b.mute.SetText(u.tr.T("live.mute"))
		b.mute.SetIcon(theme.VolumeUpIcon())
		b.mute.Show()
	default: // no microphone: nothing to mute (the notes say so)
		b.mute.Hide()
	}
	notes := u.mediaNotes(l)
	text := ""
	for i, n := range notes {
		if i > 0 {
			text += "\n"
		}
		text += n
	}
	b.notes.SetText(text)
	if text == "" {
		b.notes.Hide()
	} else {
		b.notes.Show()
	}
}

// fit sizes the panel to its content. A wrapping label measures its height
// at its current width: give it the panel's inner width first.
func (u *UI) fit() {
	b := u.bannerText
	inner := float32(bannerWidth) - 4*theme.Padding()
	for _, l := range []*widget.Label{b.notes, b.question, b.hint} {
		l.Resize(fyne.NewSize(inner, l.MinSize().Height))
		l.Resize(fyne.NewSize(inner, l.MinSize().Height))
	}
	if u.banner != nil {
		u.banner.Resize(fyne.NewSize(bannerWidth, b.root.MinSize().Height))
	}
}

// toggleMute mutes or unmutes the microphone. UI thread.
func (u *UI) toggleMute() {
	muted := u.snapshot().Live.Microphone != app.DeviceMuted
	u.o.Agent.SetMuted(muted)
}

// endSession and endControl are the student's stop buttons (panel and tray
// menu); the professor is told the student ended it. UI thread.
func (u *UI) endSession() {
	if u.question != nil && !u.question.q.Control {
		u.answer(false) // a session being asked about: the answer is no
	}
	u.background(func(ctx context.Context) error { u.o.Agent.EndLive(ctx); return nil }, func(error) {})
}

func (u *UI) endControl() {
	if u.question != nil && u.question.q.Control {
		u.answer(false)
	}
	u.background(func(ctx context.Context) error { u.o.Agent.EndControl(ctx); return nil }, func(error) {})
}

// toggleCollapsed folds the panel to its strip and buttons, or unfolds it.
// UI thread.
func (u *UI) toggleCollapsed() {
	u.collapsed = !u.collapsed
	u.drawPanel()
}

// question is a consent question on the panel, waiting for the student.
type question struct {
	id  uint64
	q   app.Question
	ans chan bool // buffered: the first answer is kept
}

// Ask puts a consent question (the lab's policy is ask) on the live panel
// and waits for the student's answer; ctx's end (the deadline, or the
// professor gave up) takes it off again and counts as no. Safe from any
// goroutine except the UI thread.
func (u *UI) Ask(ctx context.Context, q app.Question) bool {
	if u.stopped.Load() {
		return false
	}
	qu := &question{id: u.askSeq.Add(1), q: q, ans: make(chan bool, 1)}
	u.do(func() { u.showQuestion(qu) })
	select {
	case yes := <-qu.ans:
		return yes
	case <-ctx.Done():
		if !u.stopped.Load() {
			u.do(func() { u.dropQuestion(qu.id) })
		}
		return false
	}
}

// showQuestion puts qu on the panel (a newer question replaces an older
// one, which counts as no). UI thread.
func (u *UI) showQuestion(qu *question) {
	if u.question != nil {
		u.question.ans <- false
	}
	u.question = qu
	u.collapsed = false // the question needs the student's eyes
	u.drawPanel()
	u.notify(u.tr.T("live.title"), u.questionText(qu.q))
}

// dropQuestion takes question id off the panel if it is still there.
func (u *UI) dropQuestion(id uint64) {
	if u.question == nil || u.question.id != id {
		return
	}
	u.question = nil
	u.drawPanel()
}

// answer answers the question on the panel. UI thread.
func (u *UI) answer(yes bool) {
	if u.question == nil {
		return
	}
	u.question.ans <- yes
	u.question = nil
	u.drawPanel()
}

func (u *UI) questionText(q app.Question) string {
	name := q.Professor
	if name == "" {
		name = u.tr.T("live.a_professor")
	}
	if q.Control {
		return u.tr.T("live.ask_control", "name", name)
	}
	return u.tr.T("live.ask_view", "name", name)
}

// drawPanel shows, updates or hides the panel for the live state and the
// pending question. UI thread only.
func (u *UI) drawPanel() {
	l := u.last
	if l.Mode == app.LiveNone && u.question == nil {
		if u.banner != nil && u.panelShown {
			u.banner.Hide()
		}
		u.panelShown = false
		u.placedFor = nil
		return
	}
	first := u.banner == nil
	if first {
		// A normal window: the window manager moves it by its title bar
		// on every OS; its close button collapses the panel instead (it
		// stays until the session ends).
		u.banner = u.fa.NewWindow(panelTitle)
		u.banner.SetIcon(u.icons["app.png"])
		u.bannerText = u.newBannerView()
		u.banner.SetContent(u.bannerText.root)
		u.banner.SetCloseIntercept(func() {
			if !u.collapsed {
				u.toggleCollapsed()
			}
		})
		u.banner.SetFixedSize(true)
	}
	b := u.bannerText
	b.endControl.SetText(u.tr.T("live.end_control"))
	b.endSession.SetText(u.tr.T("live.end_session"))
	b.allow.SetText(u.tr.T("live.allow"))
	b.refuse.SetText(u.tr.T("live.refuse"))
	// The fold button is an icon in the strip: words would not fit beside
	// the stops.
	if u.collapsed {
		b.collapse.SetIcon(theme.MenuDropDownIcon())
	} else {
		b.collapse.SetIcon(theme.MenuDropUpIcon())
	}
	switch {
	case u.question != nil && !u.question.q.Control:
		b.set(u.tr.T("live.title"), askingColour) // the question is right below
	case l.Mode == app.LiveControlled:
		b.set(u.bannerMessage(l), controlledColour)
	default:
		b.set(u.bannerMessage(l), viewedColour)
	}
	if u.question != nil {
		b.question.SetText(u.questionText(u.question.q))
		secs := int(math.Ceil(time.Until(u.question.q.Deadline).Seconds()))
		b.hint.SetText(u.tr.T("live.ask_hint", "seconds", fmt.Sprint(max(secs, 1))))
		b.askBox.Show()
	} else {
		b.askBox.Hide()
	}
	if l.Mode == app.LiveNone {
		b.actions.Hide() // nothing to end or fold yet: the question's buttons answer
		b.collapse.Hide()
		b.body.Hide()
	} else {
		b.actions.Show()
		b.collapse.Show()
		if l.Mode == app.LiveControlled {
			b.endControl.Show()
		} else {
			b.endControl.Hide()
		}
		u.showMedia(l)
		if u.collapsed {
			b.body.Hide()
		} else {
			b.body.Show()
		}
	}
	// Shown or hidden parts move the others: lay them out again.
	b.actions.Refresh()
	b.inner.Refresh()
	u.fit()
	// Show only when hidden: fyne's Show of a shown window puts it back
	// where it last knew it, undoing placePanel's move.
	if !u.panelShown {
		u.banner.Show()
		u.panelShown = true
	}
	if first {
		keepAbove(u.banner, u.log)
	}
	// Placed when it appears and when the stream moves to another monitor;
	// otherwise it stays where the student dragged it.
	if u.placedFor == nil || *u.placedFor != l.Screen {
		scr := l.Screen
		u.placedFor = &scr
		u.placePanel(scr)
	}
}

// placePanel puts the panel at a side of the screen, off the streamed
// monitor when there is another one (so the professor does not see it in
// their own view). UI thread.
func (u *UI) placePanel(streamed image.Rectangle) {
	if u.o.Monitors == nil {
		return
	}
	size := u.banner.Canvas().Size()
	at, ok := panelSpot(u.o.Monitors(), streamed, image.Pt(int(size.Width), int(size.Height)))
	if !ok {
		return
	}
	movePanel(u.banner, at, u.log)
}

// panelMargin keeps the panel off the screen's edge (and a top bar).
const panelMargin = 48

// panelSpot is where the panel of size goes: the top right of a monitor
// that is not streamed, else of a streamed one (the primary first; the
// stream is the primary monitor until the session says otherwise). The right side keeps it off the centre, where
// the student works and the professor looks.
func panelSpot(monitors []Monitor, streamed image.Rectangle, size image.Point) (image.Point, bool) {
	if len(monitors) == 0 {
		return image.Point{}, false
	}
	if streamed.Empty() {
		streamed = monitors[0].Rect
		for _, m := range monitors {
			if m.Primary {
				streamed = m.Rect
				break
			}
		}
	}
	target := image.Rectangle{}
	for _, m := range monitors {
		if !m.Rect.Overlaps(streamed) {
			target = m.Rect
			break
		}
	}
	if target.Empty() { // every monitor is streamed: the primary one, else the first
		for _, m := range monitors {
			if m.Rect.Overlaps(streamed) && (target.Empty() || m.Primary) {
				target = m.Rect
			}
		}
	}
	if target.Empty() {
		target = streamed
	}
	x := target.Max.X - size.X - panelMargin
	x = max(x, target.Min.X+target.Dx()/2+1) // never across the centre
	y := target.Min.Y + panelMargin
	return image.Pt(x, y), true
}

// Monitor is one of the desktop's monitors in desktop pixels.
type Monitor struct {
	Rect    image.Rectangle
	Primary bool
}

// CameraFrame shows a picture of the professor's camera; safe from any
// goroutine. Only the latest picture is drawn: a slow redraw skips frames
// instead of queueing them.
func (u *UI) CameraFrame(img image.Image) {
	u.camLatest.Store(&img)
	if u.stopped.Load() || !u.camPending.CompareAndSwap(false, true) {
		return
	}
	u.do(func() {
		u.camPending.Store(false)
		p := u.camLatest.Load()
		if p == nil || u.bannerText == nil || u.last.Mode == app.LiveNone {
			return
		}
		u.bannerText.camera.Image = *p
		u.bannerText.camera.Refresh()
	})
}

// liveChanged shows, updates or hides the panel and notifies at the start
// of a session and when control begins: the student is never watched or
// controlled without seeing it. UI thread only.
func (u *UI) liveChanged(l app.Live) {
	prev := u.last
	u.last = l
	if l.Mode == app.LiveNone {
		u.camLatest.Store(nil)
		if u.bannerText != nil { // the next session must not show this professor's face
			u.bannerText.camera.Image = image.NewRGBA(image.Rect(0, 0, 320, 240))
			u.bannerText.camera.Refresh()
		}
		if prev.Mode != app.LiveNone {
			u.collapsed = false
			u.notify(u.tr.T("live.ended_title"), u.tr.T("live.ended"))
		}
		u.drawPanel()
		return
	}
	u.drawPanel()
	if prev.Mode != l.Mode || prev.Professor != l.Professor {
		u.notify(u.tr.T("live.title"), u.bannerMessage(l))
	}
}

func (u *UI) notify(title, body string) {
	u.fa.SendNotification(fyne.NewNotification(title, body))
}

// BannerText is the banner's current message ("" when hidden), for tests
// and the status window.
func (u *UI) BannerText() string {
	if u.banner == nil || u.bannerText == nil || (u.last.Mode == app.LiveNone && u.question == nil) {
		return ""
	}
	return u.bannerText.text.Text
}

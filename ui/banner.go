package ui

import (
	"image"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/didacto/didacto/agent/app"
)

// bannerWidth is the live panel's width: the message, and the professor's
// camera at 320x240 with room around it.
const bannerWidth = 480

// bannerView is the live panel: a coloured strip with the message, the
// professor's camera with their name, the microphone's mute button and
// what of the session's sound is missing.
type bannerView struct {
	bg      *canvas.Rectangle
	text    *canvas.Text
	camera  *canvas.Image
	caption *widget.Label
	camBox  *fyne.Container
	notes   *widget.Label
	mute    *widget.Button
	root    fyne.CanvasObject
}

var (
	viewedColour     = color.NRGBA{R: 0xe0, G: 0x8a, B: 0x00, A: 0xff}
	controlledColour = color.NRGBA{R: 0xd0, G: 0x31, B: 0x2d, A: 0xff}
)

func newBannerView(onMute func()) *bannerView {
	b := &bannerView{bg: canvas.NewRectangle(viewedColour), text: canvas.NewText("", color.White)}
	b.text.TextStyle = fyne.TextStyle{Bold: true}
	b.text.TextSize = 16
	b.text.Alignment = fyne.TextAlignCenter
	strip := container.NewStack(b.bg, container.NewPadded(container.NewCenter(b.text)))
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
	b.mute = widget.NewButtonWithIcon("", theme.VolumeUpIcon(), onMute)
	b.root = container.NewVBox(strip, b.camBox, container.NewPadded(container.NewVBox(container.NewHBox(b.mute), b.notes)))
	return b
}

func (b *bannerView) set(msg string, mode app.LiveMode) {
	b.text.Text = msg
	if mode == app.LiveControlled {
		b.bg.FillColor = controlledColour
	} else {
		b.bg.FillColor = viewedColour
	}
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
	// A wrapping label measures its height at its current width: give it
	// the panel's inner width before asking the panel for its height.
	inner := bannerWidth - 4*theme.Padding()
	b.notes.Resize(fyne.NewSize(inner, b.notes.MinSize().Height))
	b.notes.Resize(fyne.NewSize(inner, b.notes.MinSize().Height))
	if u.banner != nil {
		u.banner.Resize(fyne.NewSize(bannerWidth, b.root.MinSize().Height))
	}
}

// toggleMute mutes or unmutes the microphone. UI thread.
func (u *UI) toggleMute() {
	muted := u.snapshot().Live.Microphone != app.DeviceMuted
	u.o.Agent.SetMuted(muted)
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
		if u.banner != nil {
			u.banner.Hide()
		}
		u.camLatest.Store(nil)
		if u.bannerText != nil { // the next session must not show this professor's face
			u.bannerText.camera.Image = image.NewRGBA(image.Rect(0, 0, 320, 240))
			u.bannerText.camera.Refresh()
		}
		if prev.Mode != app.LiveNone {
			u.notify(u.tr.T("live.ended_title"), u.tr.T("live.ended"))
		}
		return
	}
	if u.banner == nil {
		// A borderless window where the driver offers one: it has no close
		// button, so it stays until the session ends.
		if drv, ok := u.fa.Driver().(desktop.Driver); ok {
			u.banner = drv.CreateSplashWindow()
		} else {
			u.banner = u.fa.NewWindow("DIDACTO live")
		}
		u.banner.SetTitle("DIDACTO live")
		u.bannerText = newBannerView(u.toggleMute)
		u.banner.SetContent(u.bannerText.root)
		u.banner.SetCloseIntercept(func() {}) // not dismissable while a session runs
		u.banner.SetFixedSize(true)
	}
	u.bannerText.set(u.bannerMessage(l), l.Mode)
	u.showMedia(l)
	u.banner.Show()
	if prev.Mode == app.LiveNone {
		keepAbove(u.banner, u.log)
	}
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
	if u.banner == nil || u.bannerText == nil || u.last.Mode == app.LiveNone {
		return ""
	}
	return u.bannerText.text.Text
}

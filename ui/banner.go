package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/didacto/didacto/agent/app"
)

// bannerView is the banner's content: a coloured strip with the message.
type bannerView struct {
	bg   *canvas.Rectangle
	text *canvas.Text
	root fyne.CanvasObject
}

var (
	viewedColour     = color.NRGBA{R: 0xe0, G: 0x8a, B: 0x00, A: 0xff}
	controlledColour = color.NRGBA{R: 0xd0, G: 0x31, B: 0x2d, A: 0xff}
)

func newBannerView() *bannerView {
	b := &bannerView{bg: canvas.NewRectangle(viewedColour), text: canvas.NewText("", color.White)}
	b.text.TextStyle = fyne.TextStyle{Bold: true}
	b.text.TextSize = 16
	b.text.Alignment = fyne.TextAlignCenter
	b.root = container.NewStack(b.bg, container.NewPadded(container.NewCenter(b.text)))
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

// liveChanged shows, updates or hides the banner and notifies at the start
// of a session and when control begins: the student is never watched or
// controlled without seeing it. UI thread only.
func (u *UI) liveChanged(l app.Live) {
	prev := u.last
	u.last = l
	if l.Mode == app.LiveNone {
		if u.banner != nil {
			u.banner.Hide()
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
		u.bannerText = newBannerView()
		u.banner.SetContent(u.bannerText.root)
		u.banner.SetCloseIntercept(func() {}) // not dismissable while a session runs
		u.banner.SetFixedSize(true)
		u.banner.Resize(fyne.NewSize(480, 56))
	}
	u.bannerText.set(u.bannerMessage(l), l.Mode)
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

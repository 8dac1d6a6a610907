package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/agent/config"
	"github.com/didacto/didacto/wire"
)

// window is a kept window whose content can be rebuilt (language switch)
// or refreshed (status change).
type window struct {
	w       fyne.Window
	build   func() fyne.CanvasObject
	refresh func()
	title   func() string
}

func (u *UI) newWindow(title func() string, size fyne.Size, build func(*window) fyne.CanvasObject) *window {
	win := &window{w: u.fa.NewWindow(title()), title: title, refresh: func() {}}
	win.build = func() fyne.CanvasObject { return build(win) }
	win.w.SetIcon(u.icons["app.png"])
	win.w.SetContent(win.build())
	win.w.Resize(size)
	win.w.SetCloseIntercept(func() { u.closeWindow(win) })
	return win
}

func (w *window) rebuild() {
	w.w.SetTitle(w.title())
	w.w.SetContent(w.build())
	w.refresh()
}

// closeWindow hides a window. The status window is the only way to reach
// the app when there is no tray, so closing it there asks to quit instead
// of leaving the app invisible.
func (u *UI) closeWindow(win *window) {
	if win == u.status && !u.tray {
		dialog.ShowConfirm(u.tr.T("quit.title"), u.tr.T("quit.body"), func(yes bool) {
			if yes {
				u.quit()
			}
		}, win.w)
		return
	}
	win.w.Hide()
}

// ShowStatus shows the status window (the fallback when there is no tray).
func (u *UI) ShowStatus() {
	if u.status == nil {
		u.status = u.newWindow(func() string { return "DIDACTO" }, fyne.NewSize(380, 240), u.buildStatus)
	}
	u.status.refresh()
	u.status.w.Show()
}

func (u *UI) buildStatus(win *window) fyne.CanvasObject {
	icon := widget.NewIcon(u.icons["signed_out.png"])
	line := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	line.Wrapping = fyne.TextWrapWord
	who := widget.NewLabel("")
	who.Truncation = fyne.TextTruncateEllipsis
	why := widget.NewLabel("")
	why.Truncation = fyne.TextTruncateEllipsis
	signin := widget.NewButtonWithIcon(u.tr.T("menu.signin"), theme.LoginIcon(), u.ShowSignIn)
	lectures := widget.NewButtonWithIcon(u.tr.T("menu.lectures"), theme.ListIcon(), u.ShowLectures)
	signout := widget.NewButtonWithIcon(u.tr.T("menu.signout"), theme.LogoutIcon(), u.signOut)
	settings := widget.NewButtonWithIcon(u.tr.T("menu.settings"), theme.SettingsIcon(), u.ShowSettings)
	about := widget.NewButtonWithIcon(u.tr.T("menu.about"), theme.InfoIcon(), u.ShowAbout)
	quit := widget.NewButton(u.tr.T("menu.quit"), u.quit)
	win.refresh = func() {
		s := u.snapshot()
		icon.SetResource(u.icons[iconFor(s)])
		line.SetText(u.statusLine(s))
		who.SetText("")
		if s.User.ID != 0 {
			who.SetText(u.tr.T("status.signed_in_as", "name", s.User.Name, "email", s.User.Email))
		}
		why.SetText("")
		if s.Reason != "" && (s.Phase == app.Offline || s.Phase == app.Idle) {
			why.SetText(u.reasonText(s))
		}
		out := s.Phase == app.SignedOut
		setVisible(signin, out)
		setVisible(lectures, !out)
		setVisible(signout, !out)
	}
	head := container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(40, 40), icon), nil, line)
	buttons := container.NewGridWithColumns(3, signin, lectures, signout, settings, about, quit)
	return container.NewPadded(container.NewBorder(container.NewVBox(head, who, why), buttons, nil, nil))
}

func setVisible(o fyne.CanvasObject, on bool) {
	if on {
		o.Show()
	} else {
		o.Hide()
	}
}

// reasonText explains Idle/Offline without the raw error where it can.
func (u *UI) reasonText(s app.Status) string {
	switch {
	case s.Phase == app.Offline:
		return u.tr.T("reason.offline")
	case strings.Contains(s.Reason, "no active lecture"):
		return u.tr.T("reason.none_active")
	case strings.Contains(s.Reason, "several lectures"):
		return u.tr.T("reason.several")
	}
	return s.Reason
}

// ShowSignIn shows the sign-in / register window.
func (u *UI) ShowSignIn() {
	if u.signin == nil {
		u.signin = u.newWindow(func() string { return u.tr.T("signin.title") }, fyne.NewSize(420, 360), u.buildSignIn)
	}
	u.signin.w.Show()
	u.signin.w.RequestFocus()
}

// signInForm holds the sign-in window's widgets (tests drive them).
type signInForm struct {
	email, password                  *widget.Entry
	regName, regEmail, regPw, regPw2 *widget.Entry
	signIn, register                 *widget.Button
	message                          *widget.Label
	tabs                             *container.AppTabs
}

func (u *UI) buildSignIn(win *window) fyne.CanvasObject {
	f := &signInForm{
		email: widget.NewEntry(), password: widget.NewPasswordEntry(),
		regName: widget.NewEntry(), regEmail: widget.NewEntry(), regPw: widget.NewPasswordEntry(), regPw2: widget.NewPasswordEntry(),
		message: widget.NewLabel(""),
	}
	f.message.Wrapping = fyne.TextWrapWord
	f.email.SetPlaceHolder("student@school.ac.kr")
	f.regEmail.SetPlaceHolder("student@school.ac.kr")
	server := widget.NewLabel(u.o.Settings.String(config.KeyServer))
	server.Truncation = fyne.TextTruncateEllipsis
	busy := func(on bool) {
		for _, b := range []*widget.Button{f.signIn, f.register} {
			if on {
				b.Disable()
			} else {
				b.Enable()
			}
		}
	}
	done := func(err error) {
		busy(false)
		if err != nil {
			f.message.SetText(u.errorText(err))
			return
		}
		f.message.SetText("")
		f.password.SetText("")
		f.regPw.SetText("")
		f.regPw2.SetText("")
		win.w.Hide()
		u.ShowLectures()
	}
	f.signIn = widget.NewButtonWithIcon(u.tr.T("signin.button"), theme.LoginIcon(), func() {
		email, pw := f.email.Text, f.password.Text
		if strings.TrimSpace(email) == "" || pw == "" {
			f.message.SetText(u.tr.T("signin.missing"))
			return
		}
		busy(true)
		f.message.SetText(u.tr.T("signin.working"))
		u.background(func(ctx context.Context) error { return u.o.Agent.Login(ctx, email, pw) }, done)
	})
	f.signIn.Importance = widget.HighImportance
	f.password.OnSubmitted = func(string) { f.signIn.OnTapped() }
	f.register = widget.NewButtonWithIcon(u.tr.T("register.button"), theme.AccountIcon(), func() {
		name, email, pw := f.regName.Text, f.regEmail.Text, f.regPw.Text
		switch {
		case strings.TrimSpace(name) == "" || strings.TrimSpace(email) == "" || pw == "":
			f.message.SetText(u.tr.T("signin.missing"))
			return
		case pw != f.regPw2.Text:
			f.message.SetText(u.tr.T("register.mismatch"))
			return
		}
		busy(true)
		f.message.SetText(u.tr.T("signin.working"))
		u.background(func(ctx context.Context) error { return u.o.Agent.Register(ctx, name, email, pw) }, done)
	})
	f.register.Importance = widget.HighImportance
	login := widget.NewForm(
		widget.NewFormItem(u.tr.T("field.email"), f.email),
		widget.NewFormItem(u.tr.T("field.password"), f.password))
	reg := widget.NewForm(
		widget.NewFormItem(u.tr.T("field.name"), f.regName),
		widget.NewFormItem(u.tr.T("field.email"), f.regEmail),
		widget.NewFormItem(u.tr.T("field.password"), f.regPw),
		widget.NewFormItem(u.tr.T("field.password_again"), f.regPw2))
	f.tabs = container.NewAppTabs(
		container.NewTabItem(u.tr.T("signin.tab"), container.NewVBox(login, f.signIn)),
		container.NewTabItem(u.tr.T("register.tab"), container.NewVBox(reg, f.register)))
	u.signInForm = f
	top := container.NewBorder(nil, nil, widget.NewLabel(u.tr.T("field.server")), nil, server)
	return container.NewPadded(container.NewBorder(top, f.message, nil, nil, f.tabs))
}

// ShowLectures shows "My lectures".
func (u *UI) ShowLectures() {
	if u.lectures == nil {
		u.lectures = u.newWindow(func() string { return u.tr.T("lectures.title") }, fyne.NewSize(520, 460), u.buildLectures)
	}
	u.lectures.refresh()
	u.lectures.w.Show()
}

// lecturesView holds the lectures window's widgets (tests drive them).
type lecturesView struct {
	code    *widget.Entry
	join    *widget.Button
	message *widget.Label
	choose  *widget.Select
	list    *fyne.Container
	pending *fyne.Container
	ids     []int64 // choose option index → lecture id (0: auto)
	body    *fyne.Container
}

func (u *UI) buildLectures(win *window) fyne.CanvasObject {
	v := &lecturesView{code: widget.NewEntry(), message: widget.NewLabel(""),
		list: container.NewVBox(), pending: container.NewVBox()}
	v.message.Wrapping = fyne.TextWrapWord
	v.code.SetPlaceHolder(u.tr.T("lectures.code_hint"))
	v.join = widget.NewButtonWithIcon(u.tr.T("lectures.join"), theme.ContentAddIcon(), func() {
		code := strings.ToUpper(strings.TrimSpace(v.code.Text))
		v.join.Disable()
		var got wire.Enrollment
		u.background(func(ctx context.Context) error {
			e, err := u.o.Agent.Join(ctx, code)
			got = e
			return err
		}, func(err error) {
			v.join.Enable()
			if err != nil {
				v.message.SetText(u.errorText(err))
				return
			}
			v.code.SetText("")
			v.message.SetText(u.tr.T("lectures.requested", "lecture", got.LectureTitle))
		})
	})
	v.code.OnSubmitted = func(string) { v.join.OnTapped() }
	v.choose = widget.NewSelect(nil, nil)
	v.choose.OnChanged = func(string) {
		i := v.choose.SelectedIndex()
		if i >= 0 && i < len(v.ids) && v.ids[i] != u.snapshot().Selected {
			u.o.Agent.Select(v.ids[i])
		}
	}
	win.refresh = func() { u.fillLectures(v) }
	u.lecturesView = v
	joinRow := container.NewBorder(nil, nil, nil, v.join, v.code)
	body := container.NewVBox(
		widget.NewLabelWithStyle(u.tr.T("lectures.monitored"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.choose,
		widget.NewSeparator(),
		widget.NewLabelWithStyle(u.tr.T("lectures.member"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.list,
		widget.NewSeparator(),
		widget.NewLabelWithStyle(u.tr.T("lectures.pending"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.pending,
	)
	bottom := container.NewVBox(widget.NewSeparator(),
		widget.NewLabelWithStyle(u.tr.T("lectures.join_title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		joinRow, v.message)
	v.body = body
	return container.NewPadded(container.NewBorder(nil, bottom, nil, nil, container.NewVScroll(body)))
}

func (u *UI) fillLectures(v *lecturesView) {
	s := u.snapshot()
	// The monitored-lecture choice: automatic, or one of the active lectures.
	opts := []string{u.tr.T("lectures.auto")}
	v.ids = []int64{0}
	sel := 0
	for _, l := range s.Lectures {
		if !l.Active {
			continue
		}
		if l.ID == s.Selected {
			sel = len(opts)
		}
		opts = append(opts, l.Title)
		v.ids = append(v.ids, l.ID)
	}
	onChanged := v.choose.OnChanged
	v.choose.OnChanged = nil // redrawing is not a choice
	v.choose.SetOptions(opts)
	v.choose.SetSelectedIndex(sel)
	v.choose.OnChanged = onChanged

	v.list.RemoveAll()
	if len(s.Lectures) == 0 {
		v.list.Add(widget.NewLabel(u.tr.T("lectures.none")))
	}
	for _, l := range s.Lectures {
		l := l
		state := u.tr.T("lectures.inactive")
		switch {
		case s.Phase == app.Monitored && s.Lecture.ID == l.ID:
			state = u.tr.T("lectures.monitoring_now")
		case l.Active:
			state = u.tr.T("lectures.active")
		}
		title := widget.NewLabelWithStyle(l.Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		who := widget.NewLabel(fmt.Sprintf("%s · %s", l.OwnerName, state))
		leave := widget.NewButtonWithIcon(u.tr.T("lectures.leave"), theme.LogoutIcon(), func() { u.confirmLeave(l) })
		v.list.Add(container.NewBorder(nil, nil, nil, leave, container.NewHBox(title, who)))
	}
	v.pending.RemoveAll()
	if len(s.Pending) == 0 {
		v.pending.Add(widget.NewLabel(u.tr.T("lectures.no_pending")))
	}
	for _, e := range s.Pending {
		e := e
		cancel := widget.NewButtonWithIcon(u.tr.T("lectures.cancel"), theme.CancelIcon(), func() {
			u.background(func(ctx context.Context) error { return u.o.Agent.Cancel(ctx, e.ID) }, func(err error) {
				if err != nil {
					v.message.SetText(u.errorText(err))
				}
			})
		})
		v.pending.Add(container.NewBorder(nil, nil, nil, cancel,
			widget.NewLabel(u.tr.T("lectures.waiting", "lecture", e.LectureTitle))))
	}
	if v.body != nil {
		v.body.Refresh() // the lists changed length: lay the column out again
	}
}

func (u *UI) confirmLeave(l wire.Lecture) {
	parent := u.lectures.w
	dialog.ShowConfirm(u.tr.T("leave.title"), u.tr.T("leave.body", "lecture", l.Title), func(yes bool) {
		if !yes {
			return
		}
		u.background(func(ctx context.Context) error { return u.o.Agent.Leave(ctx, l.ID) }, func(err error) {
			if err != nil {
				u.lecturesView.message.SetText(u.errorText(err))
			}
		})
	}, parent)
}

// ShowSettings shows the settings window.
func (u *UI) ShowSettings() {
	if u.settings == nil {
		u.settings = u.newWindow(func() string { return u.tr.T("settings.title") }, fyne.NewSize(460, 340), u.buildSettings)
	} else {
		u.settings.rebuild() // show the saved values, not edits left unsaved
	}
	u.settings.w.Show()
}

// settingsView holds the settings window's widgets (tests drive them).
type settingsView struct {
	server    *widget.Entry
	language  *widget.Select
	screen    *widget.Select
	autostart *widget.Check
	save      *widget.Button
	message   *widget.Label
}

func (u *UI) buildSettings(win *window) fyne.CanvasObject {
	cfg := u.o.Settings
	v := &settingsView{server: widget.NewEntry(), message: widget.NewLabel("")}
	v.message.Wrapping = fyne.TextWrapWord
	v.server.SetText(cfg.String(config.KeyServer))
	items := []*widget.FormItem{}
	serverItem := widget.NewFormItem(u.tr.T("field.server"), v.server)
	if cfg.Locked(config.KeyServer) {
		v.server.Disable()
		serverItem.HintText = u.tr.T("settings.locked")
	}
	items = append(items, serverItem)

	langNames := []string{u.tr.T("settings.lang_auto"), "English", "한국어"}
	langKeys := []string{"auto", "en", "ko"}
	v.language = widget.NewSelect(langNames, nil)
	v.language.SetSelectedIndex(max(0, index(langKeys, cfg.String(config.KeyLanguage))))
	if cfg.Locked(config.KeyLanguage) {
		v.language.Disable()
	}
	items = append(items, widget.NewFormItem(u.tr.T("field.language"), v.language))

	screens := []string{u.tr.T("settings.all_screens")}
	if u.o.Screens != nil {
		screens = append(screens, u.o.Screens()...)
	}
	v.screen = widget.NewSelect(screens, nil)
	v.screen.SetSelectedIndex(min(len(screens)-1, max(0, cfg.Int(config.KeyScreen)+1)))
	if cfg.Locked(config.KeyScreen) {
		v.screen.Disable()
	}
	items = append(items, widget.NewFormItem(u.tr.T("field.screen"), v.screen))

	v.autostart = widget.NewCheck(u.tr.T("settings.autostart"), nil)
	autoItem := widget.NewFormItem("", v.autostart)
	if u.o.Autostart != nil {
		on, err := u.o.Autostart.Enabled()
		switch {
		case errors.Is(err, app.ErrManaged):
			v.autostart.Disable()
			autoItem.HintText = u.tr.T("settings.autostart_managed")
		case err != nil:
			v.autostart.Disable()
			autoItem.HintText = err.Error()
		default:
			v.autostart.SetChecked(on)
		}
		if cfg.Locked(config.KeyAutostart) {
			v.autostart.Disable()
		}
		items = append(items, autoItem)
	}
	v.save = widget.NewButtonWithIcon(u.tr.T("settings.save"), theme.DocumentSaveIcon(), func() { u.saveSettings(v, langKeys) })
	v.save.Importance = widget.HighImportance
	u.settingsView = v
	return container.NewPadded(container.NewVBox(widget.NewForm(items...), v.save, v.message))
}

func index(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func (u *UI) saveSettings(v *settingsView, langKeys []string) {
	cfg := u.o.Settings
	var errs []string
	if l := langKeys[max(0, v.language.SelectedIndex())]; l != cfg.String(config.KeyLanguage) && !cfg.Locked(config.KeyLanguage) {
		if err := cfg.Set(config.KeyLanguage, l); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if sc := v.screen.SelectedIndex() - 1; sc != cfg.Int(config.KeyScreen) && !cfg.Locked(config.KeyScreen) {
		if err := cfg.Set(config.KeyScreen, sc); err != nil {
			errs = append(errs, err.Error())
		} else {
			u.o.Agent.RestartMonitor()
		}
	}
	if u.o.Autostart != nil && !v.autostart.Disabled() {
		if on, err := u.o.Autostart.Enabled(); err == nil && on != v.autostart.Checked {
			if err := u.o.Autostart.Set(v.autostart.Checked); err != nil {
				errs = append(errs, err.Error())
			} else if err := cfg.Set(config.KeyAutostart, v.autostart.Checked); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	newServer := strings.TrimSpace(v.server.Text)
	serverChanged := !cfg.Locked(config.KeyServer) && newServer != cfg.String(config.KeyServer)
	finish := func() {
		u.SetLanguage(cfg.String(config.KeyLanguage))
		if len(errs) > 0 {
			u.settingsView.message.SetText(strings.Join(errs, "\n"))
		} else {
			u.settingsView.message.SetText(u.tr.T("settings.saved"))
		}
	}
	if !serverChanged {
		finish()
		return
	}
	u.background(func(ctx context.Context) error {
		if err := u.o.Agent.SetServer(ctx, newServer); err != nil {
			return err
		}
		return cfg.Set(config.KeyServer, newServer)
	}, func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
		finish()
		if err == nil {
			u.ShowSignIn()
		}
	})
}

// ShowAbout shows the about window.
func (u *UI) ShowAbout() {
	if u.about == nil {
		u.about = u.newWindow(func() string { return u.tr.T("about.title") }, fyne.NewSize(400, 260), u.buildAbout)
	}
	u.about.rebuild()
	u.about.w.Show()
}

func (u *UI) buildAbout(*window) fyne.CanvasObject {
	logo := widget.NewIcon(u.icons["app.png"])
	name := widget.NewLabelWithStyle("DIDACTO "+u.tr.T("about.agent"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	ver := widget.NewLabelWithStyle(u.tr.T("about.version", "version", u.o.Version), fyne.TextAlignCenter, fyne.TextStyle{})
	what := widget.NewLabelWithStyle(u.tr.T("about.body"), fyne.TextAlignCenter, fyne.TextStyle{})
	what.Wrapping = fyne.TextWrapWord
	server := widget.NewLabelWithStyle(u.tr.T("about.server", "server", u.o.Settings.String(config.KeyServer)), fyne.TextAlignCenter, fyne.TextStyle{})
	top := container.NewVBox(container.NewCenter(container.NewGridWrap(fyne.NewSize(64, 64), logo)), name, ver)
	return container.NewPadded(container.NewBorder(top, server, nil, nil, what))
}

// problemText turns the server's problem codes into the student's words.
func (u *UI) problemText(err error) string {
	if errors.Is(err, client.ErrNotLoggedIn) {
		return u.tr.T("err.signed_out")
	}
	switch client.Code(err) {
	case wire.CodeInvalidLogin:
		return u.tr.T("err.invalid_login")
	case wire.CodeEmailTaken:
		return u.tr.T("err.email_taken")
	case wire.CodeNotFound:
		return u.tr.T("err.code_unknown")
	case wire.CodeAlreadyWaiting:
		return u.tr.T("err.already_waiting")
	case wire.CodeAlreadyMember:
		return u.tr.T("err.already_member")
	case wire.CodeValidation:
		var p *wire.Problem
		if errors.As(err, &p) && p.Detail != "" {
			return u.tr.T("err.validation") + " " + p.Detail
		}
		return u.tr.T("err.validation")
	case wire.CodeRateLimited:
		return u.tr.T("err.rate_limited")
	}
	if client.Status(err) == 0 && !strings.Contains(err.Error(), "enter the lecture code") {
		return u.tr.T("err.unreachable")
	}
	if strings.Contains(err.Error(), "enter the lecture code") {
		return u.tr.T("lectures.code_hint")
	}
	return ""
}

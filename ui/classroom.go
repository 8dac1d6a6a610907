package ui

import (
	"context"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/didacto/didacto/agent/app"
)

// Classroom is what the classroom controls need from the agent (*app.Agent
// is one); an Agent without it shows no hand or messages.
type Classroom interface {
	SetHand(ctx context.Context, raised bool) error
	Reply(ctx context.Context, m app.Message, text string) error
	DismissMessage(id int64)
}

func (u *UI) classroom() Classroom {
	c, _ := u.o.Agent.(Classroom)
	return c
}

// handItem is the tray's Raise hand / Lower hand while a lecture is on.
func (u *UI) handItem(s app.Status) *fyne.MenuItem {
	if u.classroom() == nil || s.Phase != app.Monitored {
		return nil
	}
	label := u.tr.T("hand.raise")
	if s.Hand {
		label = u.tr.T("hand.lower")
	}
	return fyne.NewMenuItem(label, func() { u.toggleHand(!s.Hand) })
}

func (u *UI) toggleHand(raise bool) {
	u.background(func(ctx context.Context) error { return u.classroom().SetHand(ctx, raise) }, func(err error) {
		if err != nil {
			u.notify(u.tr.T("hand.failed"), u.errorText(err))
		}
	})
}

// messagesChanged notifies each new message and shows the messages
// window while there are any.
func (u *UI) messagesChanged(s app.Status) {
	for _, m := range s.Messages {
		if !slices.Contains(u.seenMessages, m.ID) {
			u.seenMessages = append(u.seenMessages, m.ID)
			u.notify(u.tr.T("msg.from", "name", m.Professor), m.Text)
		}
	}
	if len(s.Messages) == 0 {
		if u.messages != nil {
			u.messages.w.Hide()
		}
		return
	}
	if u.messages == nil {
		u.messages = u.newWindow(func() string { return u.tr.T("msg.title") }, fyne.NewSize(420, 260), u.buildMessages)
	}
	u.messages.rebuild()
	u.messages.w.Show()
}

// buildMessages lists the messages, each with a one-line answer and a
// dismiss button.
func (u *UI) buildMessages(win *window) fyne.CanvasObject {
	box := container.NewVBox()
	for _, m := range u.snapshot().Messages {
		m := m
		head := widget.NewLabelWithStyle(u.tr.T("msg.from", "name", m.Professor)+" · "+m.LectureTitle, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		text := widget.NewLabel(m.Text)
		text.Wrapping = fyne.TextWrapWord
		answer := widget.NewEntry()
		answer.SetPlaceHolder(u.tr.T("msg.answer_hint"))
		status := widget.NewLabel("")
		send := widget.NewButtonWithIcon(u.tr.T("msg.send"), theme.MailSendIcon(), nil)
		send.OnTapped = func() {
			if answer.Text == "" {
				return
			}
			send.Disable()
			text := answer.Text
			u.background(func(ctx context.Context) error { return u.classroom().Reply(ctx, m, text) }, func(err error) {
				send.Enable()
				if err != nil {
					status.SetText(u.errorText(err))
				}
			})
		}
		answer.OnSubmitted = func(string) { send.OnTapped() }
		dismiss := widget.NewButtonWithIcon(u.tr.T("msg.dismiss"), theme.ConfirmIcon(), func() { u.classroom().DismissMessage(m.ID) })
		box.Add(container.NewVBox(head, text, container.NewBorder(nil, nil, nil, container.NewHBox(send, dismiss), answer), status, widget.NewSeparator()))
	}
	return container.NewPadded(container.NewVScroll(box))
}

package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestClassroomInTheTray: a professor's message pops up in its window
// and the student's answer reaches the professor; the tray raises the
// hand and shows it lowered when the professor lowers it.
func TestClassroomInTheTray(t *testing.T) {
	for _, language := range []string{"en", "ko"} {
		t.Run(language, func(t *testing.T) { classroomFlow(t, language) })
	}
}

func classroomFlow(t *testing.T, language string) {
	f := setup(t, language)
	u, tr := f.ui, f.ui.tr
	stud := f.srv.Register(t, wire.RoleStudent, "Lee Student")
	prof := f.srv.Register(t, wire.RoleProfessor, "Prof Kim")
	var lec wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Go 101"}, &lec)
	path := fmt.Sprintf("/api/v1/lectures/%d", lec.ID)
	prof.Must(201, "POST", path+"/students", wire.AddStudentRequest{Email: stud.User.Email}, nil)
	prof.Must(200, "POST", path+"/activate", nil, nil)
	if err := f.agent.Login(context.Background(), stud.User.Email, servertest.Password); err != nil {
		t.Fatal(err)
	}
	f.eventually("monitored with the channel up", func() bool {
		s := f.agent.Status()
		return s.Phase == app.Monitored && s.Channel
	})

	var cmd wire.Command
	prof.Must(201, "POST", path+"/commands", wire.CommandRequest{Kind: wire.CommandMessage, Text: "Please save your work now"}, &cmd)
	f.eventually("messages window", func() bool {
		return u.messages != nil && strings.Contains(textsOf(t, u.messages.w.Content()), "Please save your work now")
	})
	f.shot(u.messages.w, "agent-message-"+language)
	var entry *widget.Entry
	walk(t, u.messages.w.Content(), func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok && entry == nil {
			entry = e
		}
	})
	test.Type(entry, "saved")
	test.Tap(button(t, u.messages.w.Content(), tr.T("msg.send")))
	f.eventually("the answer at the professor", func() bool {
		var got wire.Command
		prof.Must(200, "GET", fmt.Sprintf("%s/commands/%d", path, cmd.ID), nil, &got)
		return len(got.Results) == 1 && got.Results[0].Reply == "saved" && got.Results[0].State == wire.ResultApplied
	})
	f.eventually("message gone after the answer", func() bool { return len(f.agent.Status().Messages) == 0 })

	item := u.handItem(f.agent.Status())
	if item == nil || item.Label != tr.T("hand.raise") {
		t.Fatalf("tray hand item = %+v", item)
	}
	item.Action()
	f.eventually("hand up", func() bool {
		var st wire.ClassroomState
		prof.Must(200, "GET", path+"/classroom", nil, &st)
		return len(st.Hands) == 1 && f.agent.Status().Hand
	})
	if item := u.handItem(f.agent.Status()); item.Label != tr.T("hand.lower") {
		t.Fatalf("tray hand item while raised = %q", item.Label)
	}
	prof.Must(204, "DELETE", fmt.Sprintf("%s/hands/%d", path, stud.User.ID), nil, nil)
	f.eventually("hand shown lowered", func() bool { return !f.agent.Status().Hand })
}

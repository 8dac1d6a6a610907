// Package plan lists, in one place, what each subscription plan allows.
package plan

import (
	"time"

	"github.com/didacto/didacto/wire"
)

// Limits of one plan. Zero means unlimited.
type Limits struct {
	// MaxActiveLectures is how many lectures may be monitored at once.
	MaxActiveLectures int
}

// For returns the limits of a professor whose premium ends at premiumUntil.
func For(premiumUntil, now time.Time) Limits {
	if Name(premiumUntil, now) == wire.PlanPremium {
		return Limits{MaxActiveLectures: 0} // Premium lifts the limits for the paid period.
	}
	return Limits{MaxActiveLectures: 3} // the free plan: the original system's rule
}

// Name is the plan in force.
func Name(premiumUntil, now time.Time) string {
	if !premiumUntil.IsZero() && now.Before(premiumUntil) {
		return wire.PlanPremium
	}
	return wire.PlanFree
}

package incident

import (
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/shopspring/decimal"
)

func TestValidate(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	n := func(v int) *int { return &v }
	d := func(s string) *decimal.Decimal { v := decimal.RequireFromString(s); return &v }
	fall := func() *FallDetails {
		return &FallDetails{Place: " bagno ", Circumstances: "scivolata", Injury: "none", Morse: n(45)}
	}
	for _, c := range []struct {
		name string
		req  RecordRequest
		code string
	}{
		{"fall", RecordRequest{Kind: Fall, Fall: fall()}, ""},
		{"no kind", RecordRequest{Fall: fall()}, "incident.unknown_kind"},
		{"two details", RecordRequest{Kind: Fall, Fall: fall(), Other: &OtherDetails{Category: "a", Description: "b"}}, "incident.details_required"},
		{"injury", RecordRequest{Kind: Fall, Fall: &FallDetails{Place: "x", Circumstances: "y", Injury: "broken"}}, "incident.invalid_injury"},
		{"conley", RecordRequest{Kind: Fall, Fall: &FallDetails{Place: "x", Circumstances: "y", Injury: "head", Conley: n(-1)}}, "incident.invalid_score"},
		{"old", RecordRequest{Kind: Fall, Fall: fall(), OccurredAt: now.AddDate(-2, 0, 0)}, "incident.occurred_too_long_ago"},
		{"stage", RecordRequest{Kind: PressureInjury, PressureInjury: &PressureInjuryDetails{Site: "sacrum", Stage: "0"}}, "incident.invalid_stage"},
		{"deep tissue", RecordRequest{Kind: PressureInjury, PressureInjury: &PressureInjuryDetails{Site: "occiput", Stage: "deep_tissue", DepthCM: d("0.5")}}, ""},
		{"too large", RecordRequest{Kind: PressureInjury, PressureInjury: &PressureInjuryDetails{Site: "elbow", Stage: "1", LengthCM: d("101")}}, "incident.invalid_size"},
		{"other", RecordRequest{Kind: Other, Other: &OtherDetails{Category: "farmaco", Description: "dose doppia"}}, ""},
	} {
		err := c.req.Validate(now)
		if c.code == "" && err != nil || c.code != "" && (err == nil || backend.AsError(err).Code != c.code) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	r := RecordRequest{Kind: Fall, Fall: fall()}
	if err := r.Validate(now); err != nil || r.Fall.Place != "bagno" || !r.OccurredAt.Equal(now) {
		t.Fatalf("defaults: %v %+v", err, r)
	}
}

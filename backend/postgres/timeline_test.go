package postgres

import (
	"strings"
	"testing"

	"github.com/corsia-cce/corsia/backend/timeline"
	"github.com/google/uuid"
)

// Every kind a client may ask for has its fragment, and no fragment is
// left without a kind; each selects the six columns the wrapper reads and
// stays within one resident.
func TestTimelineRegistryCoversEveryKind(t *testing.T) {
	for _, k := range timeline.Kinds {
		frag, ok := timelineFragments[k]
		if !ok {
			t.Errorf("kind %s has no SQL fragment", k)
			continue
		}
		for _, must := range []string{"AS at", "AS by", "AS eie", "AS ref", "AS facts", "@facility", "@resident"} {
			if !strings.Contains(frag, must) {
				t.Errorf("fragment of %s lacks %q", k, must)
			}
		}
		if !timeline.HasSpec(k) {
			t.Errorf("kind %s has no summary", k)
		}
	}
	if len(timelineFragments) != len(timeline.Kinds) {
		t.Errorf("%d fragments for %d kinds", len(timelineFragments), len(timeline.Kinds))
	}
	if _, err := timelineSQL([]timeline.Kind{"care_plans"}, nil); err == nil {
		t.Error("a kind without a fragment built a query")
	}
	if _, err := timelineSQL(nil, nil); err == nil {
		t.Error("no kinds built a query")
	}
}

// The cursor's condition per kind: below the cursor's kind the items at
// its instant are still to come, at its kind those with a smaller id,
// above it only older ones.
func TestTimelineBranchCursor(t *testing.T) {
	c := &timeline.Cursor{Kind: timeline.Incident, ID: uuid.New()}
	for k, want := range map[timeline.Kind]string{
		timeline.Allergy:      "b.at <= @upper\n",
		timeline.Incident:     "b.at <= @upper AND (b.at < @upper OR b.id < @upper_id)",
		timeline.RehabSession: "b.at < @upper\n",
	} {
		sql, err := timelineBranch(k, c)
		if err != nil || !strings.Contains(sql, want) {
			t.Errorf("%s after %s: want %q in\n%s", k, c.Kind, want, sql)
		}
	}
	if sql, _ := timelineBranch(timeline.Allergy, nil); !strings.Contains(sql, "b.at < @upper\n") {
		t.Errorf("no cursor: %s", sql)
	}
}

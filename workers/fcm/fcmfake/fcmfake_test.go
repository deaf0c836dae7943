package fcmfake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// What the SDK tests cannot show: the fake refuses what real FCM refuses.
func TestRefusals(t *testing.T) {
	t.Parallel()
	s := New(t)
	post := func(auth, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.Endpoint()+"/projects/"+s.ProjectID+"/messages:send", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	if code, _ := post("", `{"message":{"token":"a"}}`); code != http.StatusUnauthorized {
		t.Errorf("no bearer: %d", code)
	}
	if code, _ := post("made-up", `{"message":{"token":"a"}}`); code != http.StatusUnauthorized {
		t.Errorf("unknown bearer: %d", code)
	}
	resp, err := http.PostForm(s.TokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"a.b.c"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("garbage JWT: %d", resp.StatusCode)
	}
	if s.TokenRequests() != 1 || s.Requests() != 2 {
		t.Errorf("counters %d, %d", s.TokenRequests(), s.Requests())
	}
}

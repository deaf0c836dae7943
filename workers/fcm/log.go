package fcm

import (
	"context"
	"log/slog"
	"maps"
	"slices"
)

// LogSender stands in for FCM where no credentials are configured (a
// developer's machine, the demo): it logs what it would send and accepts it.
// It logs the token shortened, the title and the data keys, never the body
// or data values: logs outlive pushes and reach more eyes.
type LogSender struct{ Log *slog.Logger }

// Send logs each valid message and accepts it; an invalid one fails as it
// would with FCM, so a caller's bug shows up before production.
func (s LogSender) Send(ctx context.Context, msgs []Message) ([]Result, error) {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	results := make([]Result, len(msgs))
	for i, m := range msgs {
		results[i].Token = m.Token
		if err := validate(m); err != nil {
			results[i].Err = err
			continue
		}
		log.InfoContext(ctx, "push not sent: no FCM credentials",
			slog.String("token", shorten(m.Token)),
			slog.String("title", m.Title),
			slog.Any("data_keys", slices.Sorted(maps.Keys(m.Data))),
			slog.String("collapse_key", m.CollapseKey),
			slog.Bool("high", m.High))
		results[i].Accepted = true
	}
	return results, nil
}

// shorten keeps enough of a token to tell devices apart in a log, not
// enough to push to one.
func shorten(token string) string {
	if len(token) <= 8 {
		return token
	}
	return token[:8] + "…"
}

//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushops/push-operator/relay/push"
)

// sendPush posts one Mattermost-style message notification to the relay.
func sendPush(ctx context.Context, client *http.Client, relayURL, platform, device string) (push.Response, error) {
	var out push.Response
	body, err := json.Marshal(&push.Notification{
		AckID: "e2e-" + device, Platform: platform, ServerID: "e2e-chat-server", DeviceID: device,
		Type: push.TypeMessage, Message: "hello from the e2e test", ChannelID: "c1", PostID: "p-" + device, Version: "v2",
	})
	if err != nil {
		return out, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, relayURL+"/api/v1/send_push", bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("HTTP %d %+v", resp.StatusCode, out)
	}
	return out, nil
}

// load sends a steady, bounded stream of pushes (apple and android alternating, a unique
// token each) like a chat server would: one pooled HTTP client, keep-alive connections.
type load struct {
	sent, ok, failed atomic.Int64
	mu               sync.Mutex
	okTokens         []string
	failures         []string
	stop             chan struct{}
	done             chan struct{}
}

// startLoad sends perSecond pushes a second until stopped, for at most maxFor.
func startLoad(ctx context.Context, relayURL, prefix string, perSecond int, maxFor time.Duration) *load {
	l := &load{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 40 * time.Second}
	go func() {
		defer close(l.done)
		var wg sync.WaitGroup
		defer wg.Wait()
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		end := time.After(maxFor)
		sem := make(chan struct{}, 32)
		for n := 0; ; n++ {
			select {
			case <-l.stop:
				return
			case <-end:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			platform := "apple"
			if n%2 == 1 {
				platform = "android"
			}
			token := fmt.Sprintf("%s-%06d", prefix, n)
			sem <- struct{}{}
			wg.Add(1)
			l.sent.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				resp, err := sendPush(ctx, client, relayURL, platform, token)
				l.mu.Lock()
				defer l.mu.Unlock()
				if err == nil && resp.Status == push.StatusOK {
					l.ok.Add(1)
					l.okTokens = append(l.okTokens, token)
					return
				}
				l.failed.Add(1)
				if len(l.failures) < 10 {
					l.failures = append(l.failures, fmt.Sprintf("%s %s: %+v %v", platform, token, resp, err))
				}
			}()
		}
	}()
	return l
}

// finish stops sending and waits for every request in flight to be answered.
func (l *load) finish() {
	close(l.stop)
	<-l.done
}

package main

import (
	"bufio"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const (
	composeFile = "docker-compose.yml"
	dockerfile  = "Dockerfile"
)

// corsiaServices are the services that run the corsia binary itself.
var corsiaServices = []string{"migrate", "api", "workers"}

// longRunning are the services that stay up and therefore need a healthcheck.
var longRunning = []string{"postgres", "redis", "api", "workers"}

// loadCompose parses and validates docker-compose.yml the way `docker compose`
// does (interpolation, normalisation, consistency checks) with a fixed
// interpolation environment, so the result does not depend on the caller's
// shell.
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(
		[]string{composeFile},
		cli.WithWorkingDirectory(wd),
		cli.WithName("corsia"),
		cli.WithEnv(kv), // deliberately not cli.WithOsEnv / cli.WithDotEnv
	)
	if err != nil {
		t.Fatalf("compose project options: %v", err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("loading %s failed (it would not start with docker compose either): %v", composeFile, err)
	}
	return project
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("service %q is missing from %s (services: %v)", name, composeFile, p.ServiceNames())
	}
	return s
}

// isNonRootUser reports whether a "user[:group]" spec names a user other than
// root. An empty spec means "the image default" and is not accepted: the
// compose file must say it explicitly.
func isNonRootUser(spec string) bool {
	user, _, _ := strings.Cut(strings.TrimSpace(spec), ":")
	return user != "" && user != "root" && user != "0"
}

func TestComposeProject(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, nil)

	t.Run("services exist", func(t *testing.T) {
		t.Parallel()
		for _, name := range []string{"postgres", "redis", "migrate", "api", "workers"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				service(t, p, name)
			})
		}
	})

	t.Run("corsia image is built from the Dockerfile", func(t *testing.T) {
		t.Parallel()
		// The image name(s) produced by a build of ./Dockerfile in this project.
		built := map[string]string{} // image -> service that builds it
		for _, name := range corsiaServices {
			s := service(t, p, name)
			if s.Build == nil {
				continue
			}
			if got := filepath.Clean(s.Build.Context); got != filepath.Clean(p.WorkingDir) {
				t.Errorf("service %q builds from context %q, want the project directory %q", name, got, p.WorkingDir)
			}
			if s.Build.Dockerfile != dockerfile {
				t.Errorf("service %q builds with dockerfile %q, want %q", name, s.Build.Dockerfile, dockerfile)
			}
			if s.Image == "" {
				t.Errorf("service %q builds but sets no image: name, so the other services cannot share it", name)
			}
			built[s.Image] = name
		}
		if len(built) == 0 {
			t.Fatalf("none of %v has a build: section; one of them must build %s", corsiaServices, dockerfile)
		}
		for _, name := range corsiaServices {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := service(t, p, name)
				if s.Build != nil {
					return // checked above
				}
				if _, ok := built[s.Image]; !ok {
					t.Errorf("service %q uses image %q, which no service builds from %s (built: %v)", name, s.Image, dockerfile, built)
				}
			})
		}
	})

	t.Run("healthchecks", func(t *testing.T) {
		t.Parallel()
		for _, name := range longRunning {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				hc := service(t, p, name).HealthCheck
				if hc == nil || hc.Disable {
					t.Fatalf("service %q is long-running but has no (enabled) healthcheck", name)
				}
				test := []string(hc.Test)
				if len(test) < 2 || (test[0] != "CMD" && test[0] != "CMD-SHELL") {
					t.Fatalf("service %q healthcheck test = %q, want [\"CMD\", cmd, args...] or [\"CMD-SHELL\", script]", name, test)
				}
				if slices.Contains(corsiaServices, name) && test[1] != "/corsia" {
					t.Errorf("service %q healthcheck runs %q; the distroless image has only /corsia (no curl/wget)", name, test[1])
				}
				if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil {
					t.Errorf("service %q healthcheck should set interval, timeout and retries (got interval=%v timeout=%v retries=%v)",
						name, hc.Interval, hc.Timeout, hc.Retries)
				}
			})
		}
	})

	t.Run("dependencies", func(t *testing.T) {
		t.Parallel()
		want := map[string]string{
			"postgres": types.ServiceConditionHealthy,
			"redis":    types.ServiceConditionHealthy,
			"migrate":  types.ServiceConditionCompletedSuccessfully,
		}
		for _, name := range []string{"api", "workers"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				deps := service(t, p, name).DependsOn
				for dep, cond := range want {
					got, ok := deps[dep]
					if !ok {
						t.Errorf("service %q does not depend on %q", name, dep)
						continue
					}
					if got.Condition != cond {
						t.Errorf("service %q depends on %q with condition %q, want %q", name, dep, got.Condition, cond)
					}
				}
			})
		}
		t.Run("migrate waits for a healthy postgres", func(t *testing.T) {
			t.Parallel()
			s := service(t, p, "migrate")
			if got := s.DependsOn["postgres"].Condition; got != types.ServiceConditionHealthy {
				t.Errorf("migrate depends on postgres with condition %q, want %q", got, types.ServiceConditionHealthy)
			}
			if s.Restart != "" && s.Restart != types.RestartPolicyNo {
				t.Errorf("migrate is one-shot; restart = %q, want \"no\"", s.Restart)
			}
		})
	})

	t.Run("connection urls", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			service, key, scheme, host string
		}{
			{"api", "DATABASE_URL", "postgres", "postgres"},
			{"api", "REDIS_URL", "redis", "redis"},
			{"workers", "DATABASE_URL", "postgres", "postgres"},
			{"workers", "REDIS_URL", "redis", "redis"},
			{"migrate", "DATABASE_URL", "postgres", "postgres"},
		}
		for _, tc := range cases {
			t.Run(tc.service+"/"+tc.key, func(t *testing.T) {
				t.Parallel()
				v := service(t, p, tc.service).Environment[tc.key]
				if v == nil || *v == "" {
					t.Fatalf("service %q has no %s", tc.service, tc.key)
				}
				u, err := url.Parse(*v)
				if err != nil {
					t.Fatalf("service %q %s=%q is not a URL: %v", tc.service, tc.key, *v, err)
				}
				if u.Scheme != tc.scheme {
					t.Errorf("service %q %s scheme = %q, want %q", tc.service, tc.key, u.Scheme, tc.scheme)
				}
				if u.Hostname() != tc.host {
					t.Errorf("service %q %s host = %q, want the compose service %q", tc.service, tc.key, u.Hostname(), tc.host)
				}
				if _, ok := p.Services[u.Hostname()]; !ok {
					t.Errorf("service %q %s points at %q, which is not a service of this project", tc.service, tc.key, u.Hostname())
				}
			})
		}
	})

	t.Run("api listens and publishes 8080", func(t *testing.T) {
		t.Parallel()
		s := service(t, p, "api")
		addr := s.Environment["HTTP_ADDR"]
		if addr == nil || !strings.HasSuffix(*addr, ":8080") {
			t.Errorf("api HTTP_ADDR = %v, want an address on port 8080 (\":8080\")", deref(addr))
		}
		published := slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool {
			return pc.Target == 8080 && pc.Published == "8080"
		})
		if !published {
			t.Errorf("api does not publish 8080:8080 (ports: %+v)", s.Ports)
		}
	})

	t.Run("hardening", func(t *testing.T) {
		t.Parallel()
		for _, name := range corsiaServices {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := service(t, p, name)
				if !isNonRootUser(s.User) {
					t.Errorf("service %q runs as user %q; want an explicit non-root user such as \"65532:65532\"", name, s.User)
				}
				if !s.ReadOnly {
					t.Errorf("service %q should set read_only: true", name)
				}
				if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
					t.Errorf("service %q security_opt = %q, want it to contain \"no-new-privileges:true\"", name, s.SecurityOpt)
				}
			})
		}
	})
}

// TestComposeDemoToggle checks that CORSIA_DEMO defaults to true and can be
// switched off from the environment, for every service that reads it.
func TestComposeDemoToggle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default", nil, "true"},
		{"disabled", map[string]string{"CORSIA_DEMO": "false"}, "false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := loadCompose(t, tc.env)
			for _, name := range corsiaServices {
				v := service(t, p, name).Environment["CORSIA_DEMO"]
				if v == nil || *v != tc.want {
					t.Errorf("service %q CORSIA_DEMO = %v, want %q", name, deref(v), tc.want)
				}
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}

// dockerInstruction is one logical Dockerfile line (continuations joined).
type dockerInstruction struct {
	line int    // 1-based line where the instruction starts
	cmd  string // upper-cased keyword, e.g. "FROM"
	args string
}

func parseDockerfile(t *testing.T, path string) []dockerInstruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()

	var (
		out   []dockerInstruction
		buf   strings.Builder
		start int
		n     int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue // comments (and parser directives) may sit inside continuations too
		}
		if buf.Len() == 0 {
			start = n
		}
		cont := strings.HasSuffix(line, "\\")
		buf.WriteString(strings.TrimSuffix(line, "\\"))
		buf.WriteByte(' ')
		if cont {
			continue
		}
		kw, rest, _ := strings.Cut(strings.TrimSpace(buf.String()), " ")
		out = append(out, dockerInstruction{line: start, cmd: strings.ToUpper(kw), args: strings.TrimSpace(rest)})
		buf.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if buf.Len() != 0 {
		t.Fatalf("%s ends inside a line continuation", path)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t, dockerfile)

	var froms []int // indexes of FROM instructions
	for i, in := range ins {
		if in.cmd == "FROM" {
			froms = append(froms, i)
		}
	}
	if len(froms) == 0 {
		t.Fatalf("%s has no FROM instruction", dockerfile)
	}
	final := ins[froms[len(froms)-1]:]
	build := ins[:froms[len(froms)-1]]

	cases := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"multi-stage", func(t *testing.T) {
			if len(froms) < 2 {
				t.Errorf("%s has %d FROM instruction(s), want at least 2 (build stage + runtime stage)", dockerfile, len(froms))
			}
		}},
		{"final stage runs as non-root", func(t *testing.T) {
			user := ""
			for _, in := range final {
				if in.cmd == "USER" {
					user = in.args
				}
			}
			if user == "" {
				t.Fatalf("final stage (%s line %d) sets no USER; set a non-root one explicitly, e.g. USER 65532:65532",
					dockerfile, final[0].line)
			}
			if !isNonRootUser(user) {
				t.Errorf("final stage USER is %q, want a non-root user", user)
			}
		}},
		{"static build with CGO_ENABLED=0", func(t *testing.T) {
			for _, in := range build {
				if (in.cmd == "RUN" || in.cmd == "ENV" || in.cmd == "ARG") && strings.Contains(in.args, "CGO_ENABLED=0") {
					return
				}
			}
			t.Errorf("no RUN/ENV/ARG in the build stage(s) of %s sets CGO_ENABLED=0; the runtime image has no libc", dockerfile)
		}},
		{"entrypoint is the corsia binary", func(t *testing.T) {
			for _, in := range final {
				if in.cmd == "ENTRYPOINT" && strings.Contains(in.args, "/corsia") {
					return
				}
			}
			t.Errorf("final stage of %s has no ENTRYPOINT running /corsia", dockerfile)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.check(t)
		})
	}
}

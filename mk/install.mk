# make install / make uninstall (included by the Makefile).
#
#   make install                          under /usr/local (needs root)
#   make install PREFIX=$HOME/.local      for one user, no root
#   make install DESTDIR=/tmp/stage PREFIX=/usr    staged, for packaging
#
# Every directory below may be overridden on the command line, GNU style.
# Templates (*.in) get the installed paths: @BINDIR@, @DATADIR@ and, for the
# LaunchAgent, whose launchd expands no ~, @HOME@ (AGENT_HOME, default $HOME).

# zsh passes PREFIX=~/.local to make with the ~ unexpanded.
override PREFIX := $(patsubst ~%,$(HOME)%,$(PREFIX))

INSTALL     ?= install
bindir      ?= $(PREFIX)/bin
datadir     ?= $(PREFIX)/share
mandir      ?= $(datadir)/man
pkgdatadir  ?= $(datadir)/ccr-keyd
libdir      ?= $(PREFIX)/lib
# The router preload and the Node client it uses; ccr-config finds them as
# ../lib/ccr-keyd/node from its own directory.
nodedir     ?= $(libdir)/ccr-keyd/node
bashcompdir ?= $(datadir)/bash-completion/completions
zshcompdir  ?= $(datadir)/zsh/site-functions
fishcompdir ?= $(datadir)/fish/vendor_completions.d
# The user manager reads $PREFIX/lib/systemd/user for /usr and /usr/local, but
# under ~/.local only ~/.local/share/systemd/user ($XDG_DATA_HOME/systemd/user).
ifeq ($(abspath $(PREFIX)),$(abspath $(HOME)/.local))
userunitdir ?= $(datadir)/systemd/user
else
userunitdir ?= $(PREFIX)/lib/systemd/user
endif
AGENT_HOME  ?= $(HOME)
AGENT_LABEL := io.github.ccr-keyd
NODE_FILES  := $(notdir $(wildcard client/node/*.cjs client/node/*.mjs)) package.json

INSTALLED_FILES := \
	$(bindir)/ccr-keyd \
	$(bindir)/ccr-config \
	$(mandir)/man1/ccr-config.1 \
	$(mandir)/man8/ccr-keyd.8 \
	$(userunitdir)/ccr-keyd.socket \
	$(userunitdir)/ccr-keyd.service \
	$(userunitdir)/ccr-router.service \
	$(pkgdatadir)/$(AGENT_LABEL).plist \
	$(pkgdatadir)/$(AGENT_LABEL).router.plist \
	$(addprefix $(nodedir)/,$(NODE_FILES)) \
	$(bashcompdir)/ccr-config \
	$(zshcompdir)/_ccr-config \
	$(fishcompdir)/ccr-config.fish

# Fill a template's paths: $(call fill,TEMPLATE,TARGET).
define fill
	sed -e 's|@BINDIR@|$(bindir)|g' -e 's|@DATADIR@|$(pkgdatadir)|g' \
		-e 's|@HOME@|$(AGENT_HOME)|g' $(1) >$(DESTDIR)$(2)
	chmod 0644 $(DESTDIR)$(2)
endef

.PHONY: install uninstall
install: all
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man8 \
		$(DESTDIR)$(userunitdir) $(DESTDIR)$(pkgdatadir) $(DESTDIR)$(bashcompdir) \
		$(DESTDIR)$(zshcompdir) $(DESTDIR)$(fishcompdir) $(DESTDIR)$(nodedir)
	$(INSTALL) -m 0755 $(BUILD)/ccr-keyd $(BUILD)/ccr-config $(DESTDIR)$(bindir)/
	$(INSTALL) -m 0644 $(addprefix client/node/,$(NODE_FILES)) $(DESTDIR)$(nodedir)/
	$(INSTALL) -m 0644 docs/ccr-config.1 $(DESTDIR)$(mandir)/man1/ccr-config.1
	$(INSTALL) -m 0644 docs/ccr-keyd.8 $(DESTDIR)$(mandir)/man8/ccr-keyd.8
	$(INSTALL) -m 0644 systemd/ccr-keyd.socket $(DESTDIR)$(userunitdir)/ccr-keyd.socket
	$(call fill,systemd/ccr-keyd.service.in,$(userunitdir)/ccr-keyd.service)
	$(call fill,systemd/ccr-router.service.in,$(userunitdir)/ccr-router.service)
	$(call fill,launchd/$(AGENT_LABEL).plist.in,$(pkgdatadir)/$(AGENT_LABEL).plist)
	$(call fill,launchd/$(AGENT_LABEL).router.plist.in,$(pkgdatadir)/$(AGENT_LABEL).router.plist)
	$(INSTALL) -m 0644 completions/ccr-config.bash $(DESTDIR)$(bashcompdir)/ccr-config
	$(INSTALL) -m 0644 completions/_ccr-config $(DESTDIR)$(zshcompdir)/_ccr-config
	$(INSTALL) -m 0644 completions/ccr-config.fish $(DESTDIR)$(fishcompdir)/ccr-config.fish
	@echo 'Installed. Start ccr-keyd at login:'
	@echo '  Linux:  systemctl --user daemon-reload && systemctl --user enable --now ccr-keyd.socket'
	@echo '  macOS:  cp $(pkgdatadir)/$(AGENT_LABEL).plist ~/Library/LaunchAgents/ &&'
	@echo '          launchctl bootstrap gui/$$(id -u) ~/Library/LaunchAgents/$(AGENT_LABEL).plist'
	@echo 'Completion for ccr-config (bash-completion and zsh may not look under $(datadir)),'
	@echo 'and the ccr function for the router: add to ~/.bashrc (~/.zshrc: zsh; fish: see ccr-config(1))'
	@echo '  eval "$$($(bindir)/ccr-config shell-init bash)"'
	@echo 'The router with its keys at login (optional):'
	@echo '  Linux:  systemctl --user enable --now ccr-router.service'
	@echo '  macOS:  cp $(pkgdatadir)/$(AGENT_LABEL).router.plist ~/Library/LaunchAgents/ &&'
	@echo '          launchctl bootstrap gui/$$(id -u) ~/Library/LaunchAgents/$(AGENT_LABEL).router.plist'

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
	rmdir $(DESTDIR)$(pkgdatadir) $(DESTDIR)$(nodedir) 2>/dev/null || true
	rmdir $(DESTDIR)$(libdir)/ccr-keyd 2>/dev/null || true

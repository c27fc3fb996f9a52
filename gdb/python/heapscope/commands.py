"""gdb commands from the core's command table: `heap`/`mems` prefixes and one
subcommand per entry. Help and completion come from the table too."""

import gdb

import _heapscope_gdb as core

from . import gdbtarget, session, settings

_commands = []


def run(group, raw):
    """Runs `group raw` in the core, which writes its output through
    gdb.write piece by piece as it renders (gdb's pager and Ctrl-C work on a
    listing as it comes); raises gdb.GdbError."""
    try:
        s = session.current()
    except session.HeapscopeError as e:
        raise gdb.GdbError("heapscope: %s" % e)
    status, error = s.run(group, raw, gdb.write, gdbtarget.evaluate_address, settings.color())
    if status == 0:  # an error stays one line
        for note in s.take_new_notes():
            gdb.write(note + "\n", gdb.STDERR)
    if status != 0:
        raise gdb.GdbError("heapscope: %s" % error)


def _run_or_help(group, raw):
    # Help needs no target: answer it even before a program is loaded.
    text = core.help_for(group, raw)
    if text is not None:
        gdb.write(text)
    else:
        run(group, raw)


class _Group(gdb.Command):
    def __init__(self, group, doc):
        self.__doc__ = doc
        self._group = group
        super().__init__(group, gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

    def invoke(self, arg, from_tty):
        # Unknown subcommands land here too ("heap help", "heap nosuch"):
        # the core answers both, as the CLI does.
        self.dont_repeat()
        _run_or_help(self._group, arg)


class _Subcommand(gdb.Command):
    def __init__(self, spec):
        self.__doc__ = spec["help"].rstrip("\n")
        self._group = spec["group"]
        self._name = spec["name"]
        super().__init__("%s %s" % (self._group, self._name), gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        _run_or_help(self._group, "%s %s" % (self._name, arg))

    def complete(self, text, word):
        # The table answers (options, an option's values, a positional's
        # values). gdb breaks words at '-' and '=', so `word` may be only the
        # tail of the token being typed: match on the whole token, answer
        # with tails.
        word = word or ""
        words = text.split()
        token = words.pop() if words and not text[-1].isspace() else ""
        found = core.complete(self._group, self._name, words, token)
        if not found:
            return gdb.COMPLETE_NONE
        cut = max(0, len(token) - len(word))
        return [c[cut:] for c in found]


def _group_doc(group):
    # gdb's help shows the docstring, then lists the subcommands itself.
    help_text = core.group_help(group)
    first = help_text.split("\n", 1)[0]
    return "%s\nUsage: %s SUBCOMMAND [OPTIONS] [--json]\n\n" \
           "\"%s help\" lists heapscope's command table; \"help %s SUBCOMMAND\" the options." % (
               first, group, group, group)


def register():
    if _commands:
        return
    for group in core.command_groups():
        _commands.append(_Group(group, _group_doc(group)))
    for spec in core.command_table():
        _commands.append(_Subcommand(spec))

"""The preference writer: every save of the editor, the results panel and My Terms.

A view never writes to the store itself, and an undo command never holds a view. A view
pushes a :class:`SaveCommand` (or, for a save that is not undoable, calls
:meth:`PreferenceWriter.save`); the command holds only data (a brand id, a field, the old and
the new value; or the terms before and after) and its ``redo()``/``undo()`` hand the writer a
*save* (:class:`FieldsSave`, :class:`DetailSave` ...), a frozen description of what to store.

The writer runs each save on the runner's write thread, in the order asked (as every write of
the window), and tells every view what happened through three signals:

- ``asked(Outcome)`` at once, on the GUI thread: the views show the new value straight away;
- ``stored(Outcome)`` when the store kept it, with the data read back from the store (the
  brand as stored, the terms as stored, the brands changed);
- ``refused(Outcome)`` when the store refused it (a value the domain refuses, a database that
  is busy or read-only, a brand another program removed meanwhile), with one message that
  names the step and why, and what the store holds now: the views show that again.

A refused save leaves no step on the undo stack that did not happen: a step refused when it
was first done is taken off the stack; a refused undo or redo puts the stack back where it
was (the step can be tried again), except for a brand that is gone, whose step is taken off.
When the user has moved on meanwhile (the step is no longer next to the stack's index), the
step is marked obsolete: Qt drops it, without running it, when the stack reaches it.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from cmr_desktop.domain.policy import MyTerms
from cmr_desktop.domain.preferences import FieldKey, FieldValue, PreferenceSet
from cmr_desktop.domain.vocabulary import RelationshipStatus
from cmr_desktop.services import BrandNotFound, BrandView, ServiceError, Services, StoreError
from cmr_desktop.ui.runner import Runner

#: The pending-count key of saves of My Terms (brand saves count under the brand's id).
TERMS = "\0terms"

# --- what a save is -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldsSave:
    """Set some preference fields of one brand (``previous``: what they held before, shown
    again if the save is refused and the store cannot be read)."""

    slug: str
    values: tuple[tuple[FieldKey, FieldValue], ...]
    previous: tuple[tuple[FieldKey, FieldValue], ...]


@dataclass(frozen=True, slots=True)
class DetailSave:
    """Set one relationship detail (``status``, ``website`` ...) of one brand."""

    slug: str
    name: str
    value: Any
    previous: Any


@dataclass(frozen=True, slots=True)
class AcceptSave:
    """Take the vendor's values of drifted fields as the customer's decisions, by name
    (journaled ``accepted_theirs``). ``values`` None: as the last drift recorded them."""

    slug: str
    keys: tuple[FieldKey, ...]
    values: tuple[tuple[FieldKey, FieldValue], ...] | None = None


@dataclass(frozen=True, slots=True)
class KeepSave:
    """Keep the customer's own values after drift (``keys``: the drifted fields it settles,
    for the views)."""

    slug: str
    keys: tuple[FieldKey, ...] = ()


@dataclass(frozen=True, slots=True)
class TermsSave:
    """Replace My Terms."""

    terms: MyTerms
    previous: MyTerms


@dataclass(frozen=True, slots=True)
class ManySave:
    """Store whole preference sets of several brands in one transaction, leaving alone a
    brand that no longer holds ``expected`` (applying My Terms, and its undo)."""

    values: Mapping[str, PreferenceSet]
    expected: Mapping[str, PreferenceSet]


Save = FieldsSave | DetailSave | AcceptSave | KeepSave | TermsSave | ManySave


def brand_of(save: Save) -> str | None:
    """The brand a save is about (None: My Terms, or several brands)."""
    if isinstance(save, TermsSave | ManySave):
        return None
    return save.slug


def _targets(save: Save) -> list[str]:
    if isinstance(save, TermsSave):
        return [TERMS]
    if isinstance(save, ManySave):
        return list(save.values)
    return [save.slug]


class Step(enum.Enum):
    """Which move of the undo stack asked for a save."""

    DO = "do"  # the command was pushed (its first redo)
    REDO = "redo"
    UNDO = "undo"
    ONCE = "once"  # no command: a save that is not undoable


_FAILED = {Step.DO: "Not saved", Step.ONCE: "Not saved", Step.REDO: "Not redone"}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a save.

    Attributes:
        save: the save asked for.
        step: the move of the undo stack that asked for it.
        what: the step in the customer's words ("Email of Contoso Bank").
        brand: the brand as stored after the save (or, when refused, as stored now; None
            when it cannot be read: removed meanwhile, or not a brand save).
        terms: My Terms as stored (terms saves).
        changed, skipped: the brands a :class:`ManySave` changed and left alone.
        problem: why the store refused it (None: stored).
        gone: refused because the brand is no longer stored.
        message: one line for the customer (refusals only).
    """

    save: Save
    step: Step
    what: str
    brand: BrandView | None = None
    terms: MyTerms | None = None
    changed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    problem: str | None = None
    gone: bool = False
    message: str = ""
    #: The class of the undo command that asked for it (None: not undoable).
    origin: type[SaveCommand] | None = None
    #: Set by the writer: the step is taken off the undo stack (at once when it was the
    #: next to undo or redo, else when the stack reaches it).
    dropped: bool = field(default=False, compare=False)


def reason(error: Exception) -> str:
    """Why the store refused a save, in one line."""
    if isinstance(error, BrandNotFound):
        return "the brand is no longer stored (another window or the cmr command removed it)"
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, StoreError) and "readonly" in text.replace("-", ""):
        return "the database cannot be written (the file or its folder is read-only)"
    if isinstance(error, ServiceError | StoreError):
        return text
    return f"{text} ({type(error).__name__})"


# --- the commands' common part ------------------------------------------------------------


class SaveCommand(QUndoCommand):
    """An undo step that holds data only: ``redo()`` asks the writer to store
    :meth:`forward`, ``undo()`` :meth:`backward`. Subclasses give the two saves."""

    def __init__(self, writer: PreferenceWriter, text: str) -> None:
        super().__init__(text)
        self.writer = writer
        #: Not done yet: the next redo is the first (the push).
        self.first = True
        #: The writer is putting the stack back after a refusal: the next move does nothing.
        self.skip = False

    def forward(self) -> Save:
        raise NotImplementedError

    def backward(self) -> Save:
        raise NotImplementedError

    def redo(self) -> None:
        if self.skip:
            self.skip = False
            return
        step = Step.DO if self.first else Step.REDO
        save = self.forward()
        self.first = False
        self.writer.submit(save, self, step)

    def undo(self) -> None:
        if self.skip:
            self.skip = False
            return
        self.writer.submit(self.backward(), self, Step.UNDO)


# --- the writer ---------------------------------------------------------------------------


class PreferenceWriter(QObject):
    """Stores the window's edits off the GUI thread and says what became of each.

    Signals:
        asked(object): an :class:`Outcome` without a result: a save was asked for (show it).
        stored(object): an :class:`Outcome`: the store kept it (the data read back).
        refused(object): an :class:`Outcome` with ``problem`` and ``message``.
        brand_stored(str): a save of one brand was stored (its id): its row is read again.
    """

    asked = Signal(object)
    stored = Signal(object)
    refused = Signal(object)
    brand_stored = Signal(str)

    def __init__(
        self, services: Services, runner: Runner, undo: QUndoStack, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.services, self.runner, self.undo = services, runner, undo
        self._pending: Counter[str] = Counter()
        self._by_command: Counter[int] = Counter()  # saves asked and not answered, by step

    def push(self, command: SaveCommand) -> None:
        """Do ``command`` (the stack calls its first redo at once) and keep it for undo."""
        self.undo.push(command)

    def save(self, save: Save, what: str) -> None:
        """Store ``save`` once, not undoably (``what``: the step in the customer's words)."""
        self._submit(save, None, Step.ONCE, what)

    def submit(self, save: Save, command: SaveCommand, step: Step) -> None:
        """Store ``save`` for ``command``'s ``step`` (its redo or undo calls this)."""
        self._submit(save, command, step, command.text())

    def pending(self, target: str) -> int:
        """Saves asked for and not answered yet, of a brand (by id) or of My Terms
        (:data:`TERMS`)."""
        return self._pending[target]

    def _submit(self, save: Save, command: SaveCommand | None, step: Step, what: str) -> None:
        for target in _targets(save):
            self._pending[target] += 1
        if command is not None:
            self._by_command[id(command)] += 1
        origin = type(command) if command is not None else None
        self.asked.emit(Outcome(save, step, what, origin=origin))
        services = self.services

        def job() -> Outcome:
            return replace(_store(services, save, step, what), origin=origin)

        def done(outcome: Outcome) -> None:
            self._answered(outcome, command)

        def failed(error: Exception) -> None:  # _store catches everything; to be safe
            self._answered(replace(_refused(save, step, what, error), origin=origin), command)

        self.runner.run(job, done, failed, write=True)

    def _answered(self, outcome: Outcome, command: SaveCommand | None) -> None:
        for target in _targets(outcome.save):
            self._pending[target] -= 1
            if self._pending[target] <= 0:
                del self._pending[target]
        later = 0
        if command is not None:
            self._by_command[id(command)] -= 1
            later = self._by_command[id(command)]
            if later <= 0:
                del self._by_command[id(command)]
        if outcome.problem is None:
            slug = brand_of(outcome.save)
            if slug is not None:  # (several brands: the view that asked reloads them all)
                self.brand_stored.emit(slug)
            self.stored.emit(outcome)
            return
        dropped = command is not None and self._take_back(command, outcome, later)
        self.refused.emit(replace(outcome, dropped=dropped))

    def _take_back(self, command: SaveCommand, outcome: Outcome, later: int = 0) -> bool:
        """Leave no step on the stack that did not happen; True when it was taken off.

        ``later``: saves of the same step asked after this one and not answered yet (an undo
        and at once a redo): the stack already stands where the last of them puts it, so a
        refused undo or redo that is no longer beside the stack's index leaves it alone.
        """
        if not shiboken6.isValid(command):
            return True  # the stack deleted it already (a new edit after an undo)
        stack, step = self.undo, outcome.step
        index = stack.index()
        if step is Step.UNDO:
            beside = index < stack.count() and stack.command(index) is command
        else:
            beside = index > 0 and stack.command(index - 1) is command
        drop = step is Step.DO or outcome.gone
        if not drop and not beside and later:
            return False  # the later save decides; the stack already shows it
        if drop or not beside:
            # Qt deletes an obsolete command, without running it, when the stack reaches it.
            command.setObsolete(True)
        else:
            command.skip = True  # the move that puts the stack back does nothing
        if beside:
            if step is Step.UNDO:
                stack.redo()
            else:
                stack.undo()
        return drop or not beside


# --- on the write thread ------------------------------------------------------------------


def _store(services: Services, save: Save, step: Step, what: str) -> Outcome:
    """Store ``save`` (on the write thread) and read back what the store holds."""
    try:
        if isinstance(save, TermsSave):
            services.preferences.set_policy(save.terms)
            return Outcome(save, step, what, terms=save.terms)
        if isinstance(save, ManySave):
            changed, skipped = services.preferences.set_preferences_many(save.values, save.expected)
            return Outcome(save, step, what, changed=tuple(changed), skipped=tuple(skipped))
        return Outcome(save, step, what, brand=_store_brand(services, save))
    except Exception as error:
        return _refused(save, step, what, error, services)


def _store_brand(services: Services, save: FieldsSave | DetailSave | AcceptSave | KeepSave) -> Any:
    if isinstance(save, FieldsSave):
        values = save.values

        def edit(prefs: PreferenceSet) -> PreferenceSet:
            for key, value in values:
                prefs = prefs.replace_field(key, value)
            return prefs

        return services.preferences.update_preferences(save.slug, edit)
    if isinstance(save, AcceptSave):
        given = dict(save.values) if save.values is not None else None
        return services.preferences.accept_theirs(save.slug, list(save.keys), given)
    if isinstance(save, DetailSave):
        value = RelationshipStatus(save.value) if save.name == "status" else save.value
        services.brands.edit_brand(save.slug, **{save.name: value})
    else:
        services.preferences.keep_own_after_drift(save.slug)
    return services.brands.get_brand(save.slug)


def _refused(
    save: Save, step: Step, what: str, error: Exception, services: Services | None = None
) -> Outcome:
    """The outcome of a refused save, with what the store holds now where it can be read."""
    brand: BrandView | None = None
    terms: MyTerms | None = None
    slug = brand_of(save)
    if services is not None:
        try:
            if slug is not None:
                brand = services.brands.get_brand(slug)
            elif isinstance(save, TermsSave):
                terms = services.preferences.policy()
        except Exception:  # gone, or the store cannot be read: the views fall back
            pass
    problem = reason(error)
    verb = "Not undone" if step is Step.UNDO else _FAILED[step]
    return Outcome(
        save,
        step,
        what,
        brand=brand,
        terms=terms,
        problem=problem,
        gone=isinstance(error, BrandNotFound),
        message=f"{verb}: {what}: {problem.rstrip('.')}.",
    )

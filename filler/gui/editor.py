"""The form editor: one window per form, generated from the schema.

Every visible field becomes a labelled input (tooltip: what is expected, with an example); the
message for a field appears right under it, in a line kept for it so that nothing moves, when
the user leaves it and again on 保存. Every table of the schema is edited per group (a tab
each) as rows: one input per column, whatever the columns are (add, remove, move up/down, or
本类填"无"). The document in memory follows every keystroke and is written (atomically) each
time the user leaves a changed field and when the window closes, so nothing typed is lost.
Only the schema drives the window: which widget a field gets is decided in ``field_widget``.
"""
from __future__ import annotations

import copy
import time

import PySimpleGUI as sg

from app.forms.schema import NONE_VALUE
from filler.core.excel import slot_header
from filler.core.store import StoreError, StoredForm
from filler.core.validation import check, check_field

ERROR_COLOR = "#b00020"
OK_COLOR = "#1b5e20"
LEAVE = "LEAVE"

# Element keys. Tuples keep the field name / group id apart from the kind of element.
FIELD = "F"
FIELD_ERROR = "FERR"
TABLE = "T"
# The row editor's input of column i is keyed (f"{ROW_CELL}{i}", group id).
ROW_CELL = "RC"
ROW_NAME = ROW_CELL + "0"     # the first column's input (the name, in most tables)
ROW_ADDRESS = ROW_CELL + "1"  # the second column's
ROW_SLOT = "RS"
ROW_ERROR = "RERR"
ROW_ADD = "ADD"
ROW_DELETE = "DEL"
ROW_UP = "UP"
ROW_DOWN = "DOWN"
ROW_NONE = "NONE"
TAB = "TAB"
SAVE = "-SAVE-"
CHECK = "-CHECK-"
EXPORT = "-EXPORT-"
CLOSE = "-CLOSE-"
STATUS = "-STATUS-"
FIELDS_COLUMN = "-FIELDS-"

ROW_CELLS_PER_LINE = 3  # the row editor's inputs, this many a line


def field_widget(field, value, key, width: int, tooltip: str = ""):
    """The input of one field or table cell: a drop-down of its choices, else a line of text."""
    if picks(field):
        return sg.Combo(list(field.choices), default_value=value or "", key=key, readonly=True,
                        enable_events=True, size=(max(10, max(len(c) for c in field.choices) * 2), 1),
                        tooltip=tooltip)
    return sg.Input(value, key=key, size=(width, 1), enable_events=True, tooltip=tooltip)


def picks(field) -> bool:
    """Whether the field's widget is a pick (a complete answer at once, checked as it is made)
    rather than text checked when the user leaves it."""
    return bool(field.choices)


def row_key(gid: str, index: int) -> tuple:
    return (f"{ROW_CELL}{index}", gid)


def _cell_width(column) -> int:
    # Long values (addresses) get a wide box, short ones (names) a narrow one.
    return max(16, min(44, column.max_length // 10))


class EditorController:
    def __init__(self, app, stored: StoredForm, is_new: bool = False):
        self.app = app
        self.schema = app.store.schema_of(stored)
        self.stored = stored
        self.document = copy.deepcopy(stored.document)
        self.dirty = False
        self.is_new = is_new
        self.closed = False
        # group id → list of (table, group, slot, row index or None for an empty slot), in
        # table order, so a selected table line maps back to the document.
        self.lines = {}
        self.selected = {}
        self.groups = {}
        self.tab_titles = {}
        for table in self.schema.tables:
            for group in table.groups:
                gid = f"{table.name}.{group.key}"
                self.groups[gid] = (table, group)
                self.selected[gid] = None
                # A tab per group; with several tables it names its table too.
                if len(table.groups) == 1 and len(self.schema.tables) > 1:
                    self.tab_titles[gid] = table.label
                elif len(self.schema.tables) > 1:
                    self.tab_titles[gid] = f"{table.label}：{group.label}"
                else:
                    self.tab_titles[gid] = group.label
        self.last_report = None
        self.window = self._build()
        self._bind()
        for gid in self.groups:
            self._refresh_table(gid)

    @property
    def uuid(self) -> str:
        return self.stored.uuid

    # -- layout -------------------------------------------------------------------------------

    def _title(self) -> str:
        name = self.schema.title(self.document) or ("新表单" if self.is_new else "未填写网站名称")
        return f"{self.schema.label} — {name}"

    def _field_rows(self) -> list:
        rows = []
        for f in self.schema.filler_fields():
            tooltip = f.hint() + (f"\n{f.help}" if f.help else "")
            value = self.document["fields"].get(f.name, "")
            label = sg.Text(f.label + ("*" if f.required else ""), size=(16, 1), justification="right",
                            tooltip=tooltip)
            widget = field_widget(f, value, (FIELD, f.name), 46, tooltip)
            hint = sg.Text(f.hint(), size=(76, 1), text_color="#666666", font=self.app.small_font)
            rows.append([label, widget, hint])
            # The message line sits right under its input, so the user sees which field it is.
            # It is always there, one line high, empty while the field is right: a message that
            # appears never moves the fields below, so the one the user is about to click stays put.
            rows.append([sg.Text("", key=(FIELD_ERROR, f.name), size=(120, 1), text_color=ERROR_COLOR,
                                 font=self.app.small_font, pad=((150, 5), (0, 4)))])
        return rows

    def _group_tab(self, gid: str):
        table, group = self.groups[gid]
        slot_labels = [s.label for s in group.slots]
        headings = [slot_header(table), "序号"] + [c.label for c in table.columns] + ["问题"]
        widths = [16, 4] + [18 if _cell_width(c) < 30 else 34 for c in table.columns] + [46]
        cells = []
        for i, col in enumerate(table.columns):
            cells += [sg.Text(col.label), field_widget(col, "", row_key(gid, i), _cell_width(col), col.hint())]
        per_line = ROW_CELLS_PER_LINE * 2
        cell_lines = [cells[i:i + per_line] for i in range(0, len(cells), per_line)]
        none = table.column(table.none_column).label
        layout = [
            [sg.Text(table.help, text_color="#444444", font=self.app.small_font)],
            [sg.Table(values=[], headings=headings, key=(TABLE, gid), col_widths=widths,
                      auto_size_columns=False, num_rows=14, enable_events=True, justification="left",
                      select_mode=sg.TABLE_SELECT_MODE_BROWSE, expand_x=True)],
            [sg.Text(slot_header(table)), sg.Combo(slot_labels, default_value=slot_labels[0], key=(ROW_SLOT, gid),
                                                   readonly=True, size=(18, 1))] + cell_lines[0],
            *cell_lines[1:],
            [sg.Button("添加行", key=(ROW_ADD, gid)), sg.Button("删除行", key=(ROW_DELETE, gid)),
             sg.Button("上移", key=(ROW_UP, gid)), sg.Button("下移", key=(ROW_DOWN, gid)),
             sg.Button(f"本类填“{NONE_VALUE}”", key=(ROW_NONE, gid),
                       tooltip=f"网站确无这类{table.item_label}时使用：该类只保留一行，"
                               f"{none}等各项为“{NONE_VALUE}”")],
            [sg.Text("", key=(ROW_ERROR, gid), size=(120, 2), text_color=ERROR_COLOR,
                     font=self.app.small_font)],
        ]
        return sg.Tab(self.tab_titles[gid], layout, key=(TAB, gid))

    def _build(self):
        fields_tab = sg.Tab("网站基本信息", [[sg.Column(self._field_rows(), scrollable=True, key=FIELDS_COLUMN,
                                                  vertical_scroll_only=True, size=(1180, 560))]],
                            key=(TAB, "fields"))
        tabs = [fields_tab] + [self._group_tab(gid) for gid in self.groups]
        layout = [
            [sg.Text(self.schema.help, text_color="#444444"),
             sg.Push(), sg.Text(f"内部标识：{self.uuid}", font=self.app.small_font, text_color="#666666")],
            [sg.TabGroup([tabs], key="-TABS-", expand_x=True, expand_y=True)],
            [sg.Button("保存", key=SAVE, tooltip="随时可以保存，未填完或有错误也可以保存"),
             sg.Button("校验", key=CHECK), sg.Button("生成文件", key=EXPORT), sg.Button("关闭", key=CLOSE),
             sg.Text("", key=STATUS, size=(110, 2))],
        ]
        window = sg.Window(self._title(), layout, finalize=True, resizable=True, location=(30, 20),
                           enable_close_attempted_event=True, font=self.app.font)
        return window

    def _bind(self):
        for f in self.schema.filler_fields():
            if not picks(f):
                self.window[(FIELD, f.name)].bind("<FocusOut>", LEAVE)
        for gid, (table, _group) in self.groups.items():
            for i, col in enumerate(table.columns):
                if not picks(col):
                    self.window[row_key(gid, i)].bind("<FocusOut>", LEAVE)

    # -- events -------------------------------------------------------------------------------

    def handle(self, event, values) -> None:
        if event in (sg.WINDOW_CLOSE_ATTEMPTED_EVENT, sg.WIN_CLOSED, CLOSE):
            self.close()
            return
        if isinstance(event, tuple) and len(event) == 2 and event[1] == LEAVE and isinstance(event[0], tuple):
            kind, name = event[0]
            if kind == FIELD:
                self.leave_field(name)
            else:
                self.leave_row(name)
            return
        if isinstance(event, tuple):
            kind, name = event
            if kind == FIELD:
                self.document["fields"][name] = values[event]
                self.dirty = True
                if picks(self.schema.field(name)):  # a pick is a complete answer
                    self.leave_field(name)
            elif kind == TABLE:
                chosen = values[event]
                self.select_line(name, chosen[0] if chosen else None)
            elif kind.startswith(ROW_CELL):
                index = int(kind[len(ROW_CELL):])
                self.edit_row(name, index, values[event])
                if picks(self.groups[name][0].columns[index]):
                    self.leave_row(name)
            elif kind == ROW_ADD:
                self.add_row(name, values[(ROW_SLOT, name)])
            elif kind == ROW_DELETE:
                self.delete_row(name)
            elif kind == ROW_UP:
                self.move_row(name, -1)
            elif kind == ROW_DOWN:
                self.move_row(name, 1)
            elif kind == ROW_NONE:
                self.set_none(name, values[(ROW_SLOT, name)])
            return
        if event == SAVE:
            self.save(explicit=True)
        elif event == CHECK:
            self.show_report(self.run_check())
        elif event == EXPORT:
            if self.save(explicit=True):
                self.app.main.export([self.uuid])

    # -- fields -------------------------------------------------------------------------------

    def leave_field(self, name: str) -> None:
        value = self.document["fields"].get(name, "")
        normalized, message = check_field(self.schema, name, value)
        if normalized != value:
            self.document["fields"][name] = normalized
            self.window[(FIELD, name)].update(normalized)
            self.dirty = True
        self.show_field_message(name, message)
        if name == self.schema.title_field:
            self.window.set_title(self._title())
        self.autosave()

    def show_field_message(self, name: str, message: str) -> None:
        self.window[(FIELD_ERROR, name)].update(message)

    # -- tables -------------------------------------------------------------------------------

    def _slot_rows(self, gid: str, slot_key: str) -> list:
        table, group = self.groups[gid]
        return self.document[table.name][group.key].setdefault(slot_key, [])

    def _slot_by_label(self, gid: str, label: str):
        _table, group = self.groups[gid]
        for slot in group.slots:
            if slot.label == label:
                return slot
        return group.slots[0]

    def _refresh_table(self, gid: str, select=None) -> None:
        """Rebuild the table of one group; ``select`` = (slot key, index) to keep selected."""
        table, group = self.groups[gid]
        report = self.last_report
        rows, lines = [], []
        for slot in group.slots:
            slot_rows = self._slot_rows(gid, slot.key)
            if not slot_rows:
                problems = report.for_slot(table.name, group.key, slot.key) if report else []
                rows.append([slot.label, "", "（未填写）"] + [""] * (len(table.columns) - 1)
                            + ["；".join(e.message for e in problems)])
                lines.append((slot.key, None))
                continue
            for index, row in enumerate(slot_rows):
                problems = report.for_row(table.name, group.key, slot.key, index) if report else []
                rows.append([slot.label, index + 1] + [row.get(c.name, "") for c in table.columns]
                            + ["；".join(e.message for e in problems)])
                lines.append((slot.key, index))
        self.lines[gid] = lines
        chosen = [lines.index(select)] if select in lines else []
        self.window[(TABLE, gid)].update(values=rows, select_rows=chosen)
        self.selected[gid] = select if select in lines else None
        if select not in lines:
            self._load_row_inputs(gid, None)

    def _load_row_inputs(self, gid: str, line) -> None:
        table, group = self.groups[gid]
        row = {}
        if line is not None:
            slot_key, index = line
            slot = next(s for s in group.slots if s.key == slot_key)
            self.window[(ROW_SLOT, gid)].update(slot.label)
            row = self._slot_rows(gid, slot_key)[index] if index is not None else {}
        for i, col in enumerate(table.columns):
            self.window[row_key(gid, i)].update(row.get(col.name, ""))

    def select_line(self, gid: str, line_index) -> None:
        if line_index is None or line_index >= len(self.lines.get(gid, [])):
            self.selected[gid] = None
            return
        line = self.lines[gid][line_index]
        self.selected[gid] = line
        self._load_row_inputs(gid, line)
        self._show_row_problems(gid)

    def edit_row(self, gid: str, column_index: int, value: str) -> None:
        table, _group = self.groups[gid]
        line = self.selected[gid]
        if line is None:
            # Typing with nothing selected starts a new row in the chosen category.
            slot = self._slot_by_label(gid, self.window[(ROW_SLOT, gid)].get())
            rows = self._slot_rows(gid, slot.key)
            rows.append(table.blank_row())
            line = (slot.key, len(rows) - 1)
            self.selected[gid] = line
        slot_key, index = line
        rows = self._slot_rows(gid, slot_key)
        if index is None:  # an empty category: the first keystroke creates its first row
            rows.append(table.blank_row())
            index = len(rows) - 1
            self.selected[gid] = (slot_key, index)
        rows[index][table.columns[column_index].name] = value
        self.dirty = True

    def leave_row(self, gid: str) -> None:
        line = self.selected[gid]
        if line is None or line[1] is None:
            return
        table, _group = self.groups[gid]
        rows = self._slot_rows(gid, line[0])
        row = rows[line[1]]
        before = dict(row)
        for col in table.columns:
            row[col.name] = col.normalize(row.get(col.name, ""))
        if row.get(table.none_column) == NONE_VALUE:
            for col in table.columns:
                if row.get(col.name, "") == "":
                    row[col.name] = NONE_VALUE
        if row != before:
            self.dirty = True
        self.last_report = check(self.schema, self.document)
        self._refresh_table(gid, select=line)
        self._load_row_inputs(gid, line)
        self._show_row_problems(gid)
        self.autosave()

    def _show_row_problems(self, gid: str) -> None:
        table, group = self.groups[gid]
        line = self.selected[gid]
        report = self.last_report or check(self.schema, self.document)
        if line is None:
            self.window[(ROW_ERROR, gid)].update("")
            return
        slot_key, index = line
        problems = (report.for_row(table.name, group.key, slot_key, index) if index is not None
                    else report.for_slot(table.name, group.key, slot_key))
        self.window[(ROW_ERROR, gid)].update("；".join(e.message for e in problems))

    def add_row(self, gid: str, slot_label: str) -> None:
        table, _group = self.groups[gid]
        slot = self._slot_by_label(gid, slot_label)
        rows = self._slot_rows(gid, slot.key)
        line = self.selected[gid]
        # A category that said 无 gets a real entry now: the 无 row goes.
        if len(rows) == 1 and table.is_none_row(rows[0]):
            rows.clear()
        if line and line[0] == slot.key and line[1] is not None and line[1] < len(rows):
            position = line[1] + 1
        else:
            position = len(rows)
        rows.insert(position, table.blank_row())
        self.dirty = True
        self._refresh_table(gid, select=(slot.key, position))
        self._load_row_inputs(gid, (slot.key, position))
        self.window[row_key(gid, 0)].set_focus()
        self.autosave()

    def delete_row(self, gid: str) -> None:
        line = self.selected[gid]
        if line is None or line[1] is None:
            self.set_status("请先在表格中选中要删除的行", error=True)
            return
        rows = self._slot_rows(gid, line[0])
        rows.pop(line[1])
        self.dirty = True
        self.last_report = check(self.schema, self.document)
        keep = (line[0], min(line[1], len(rows) - 1)) if rows else (line[0], None)
        self._refresh_table(gid, select=keep)
        self.autosave()

    def move_row(self, gid: str, step: int) -> None:
        line = self.selected[gid]
        if line is None or line[1] is None:
            self.set_status("请先在表格中选中要移动的行", error=True)
            return
        rows = self._slot_rows(gid, line[0])
        target = line[1] + step
        if not 0 <= target < len(rows):
            return  # already first/last of its category: rows never move between categories
        rows[line[1]], rows[target] = rows[target], rows[line[1]]
        self.dirty = True
        self.last_report = check(self.schema, self.document)
        self._refresh_table(gid, select=(line[0], target))
        self.autosave()

    def set_none(self, gid: str, slot_label: str) -> None:
        table, _group = self.groups[gid]
        line = self.selected[gid]
        slot = self._slot_by_label(gid, slot_label)
        if line is not None:
            slot = next(s for s in self.groups[gid][1].slots if s.key == line[0])
        rows = self._slot_rows(gid, slot.key)
        real = [r for r in rows if any(v.strip() for v in r.values() if isinstance(v, str)) and not table.is_none_row(r)]
        if real and not self.app.dialogs.confirm(
                f"“{slot.label}”已填写 {len(real)} 行，改为“{NONE_VALUE}”将删除这些行，确定吗？"):
            return
        rows[:] = [table.none_row()]
        self.dirty = True
        self.last_report = check(self.schema, self.document)
        self._refresh_table(gid, select=(slot.key, 0))
        self._load_row_inputs(gid, (slot.key, 0))
        self._show_row_problems(gid)
        self.autosave()

    # -- whole form ---------------------------------------------------------------------------

    def run_check(self):
        """Normalize everything, show every message where it belongs, return the report."""
        report = check(self.schema, self.document)
        self.document = report.document
        self.last_report = report
        for f in self.schema.filler_fields():
            value = self.document["fields"].get(f.name, "")
            element = self.window[(FIELD, f.name)]
            if element.get() != value:
                element.update(value)
            self.show_field_message(f.name, report.field_message(f.name))
        for gid in self.groups:
            table, group = self.groups[gid]
            self._refresh_table(gid, select=self.selected[gid])
            count = sum(1 for e in report.errors if e.path.startswith(f"{table.name}.{group.key}."))
            self.window[(TAB, gid)].update(title=self.tab_titles[gid] + (f"（{count} 处问题）" if count else ""))
            self._show_row_problems(gid)
        field_count = sum(1 for e in report.errors if e.path.startswith("fields."))
        self.window[(TAB, "fields")].update(
            title="网站基本信息" + (f"（{field_count} 处问题）" if field_count else ""))
        return report

    def show_report(self, report) -> None:
        if report.ok:
            self.set_status("校验通过，可以生成文件", ok=True)
            return
        other = report.other()
        tail = "；" + "；".join(e.message for e in other) if other else ""
        self.set_status(f"校验未通过：共 {len(report.errors)} 处问题，已在各项旁和各分类标签上标出"
                        f"（“问题”一列）{tail}", error=True)

    def save(self, explicit: bool = False) -> bool:
        """Write the form (valid or not). ``explicit``: the user pressed 保存 and wants to know
        whether the form is valid too."""
        report = self.run_check() if explicit else check(self.schema, self.document)
        self.stored.document = copy.deepcopy(self.document)
        try:
            self.app.store.save(self.stored)
        except StoreError as exc:
            self.set_status(str(exc), error=True)
            self.app.dialogs.error(str(exc))
            return False
        self.dirty = False
        self.is_new = False
        self.window.set_title(self._title())
        self.app.main.refresh()
        stamp = time.strftime("%H:%M:%S")
        if explicit:
            if report.ok:
                self.set_status(f"已保存（{stamp}），校验通过，可以生成文件", ok=True)
            else:
                self.show_report(report)
                self.window[STATUS].update(f"已保存（{stamp}），但" + self.window[STATUS].get())
        else:
            self.set_status(f"已自动保存（{stamp}）")
        return True

    def autosave(self) -> None:
        if self.dirty:
            self.save(explicit=False)

    def set_status(self, text: str, error: bool = False, ok: bool = False) -> None:
        color = ERROR_COLOR if error else (OK_COLOR if ok else "#000000")
        self.window[STATUS].update(text, text_color=color)

    def close(self) -> None:
        if self.closed:
            return
        if self.dirty:
            self.save(explicit=False)
        self.closed = True
        self.window.close()
        self.app.editor_closed(self)

    def discard(self) -> None:
        """Close without saving (the form was deleted from the list)."""
        self.closed = True
        self.window.close()
        self.app.editor_closed(self)

"""Refuse any Cypher the console must not run, before it reaches a store.

The check tokenizes the query the way both stores' lexers do (string literals with backslash escapes,
back-quoted names with doubled back-quotes, `//` and `/* */` comments, `$parameters`), then reads the
tokens, never the raw text:

- exactly one statement: a `;` may end the query, nothing may follow it but comments;
- the statement starts with a reading clause (MATCH, OPTIONAL MATCH, UNWIND, WITH, RETURN, CALL, or
  EXPLAIN / PROFILE before one of them);
- no writing, file, extension, database or transaction clause anywhere (CREATE, MERGE, SET, DELETE,
  DETACH, REMOVE, FOREACH, INSERT, DROP, ALTER, LOAD, COPY, INSTALL, ATTACH, USE, IMPORT, EXPORT,
  BEGIN, COMMIT, ROLLBACK, CHECKPOINT, GRANT, ..., `CALL { } IN TRANSACTIONS`); a keyword counts only
  where it can be a keyword, not as a property (`n.set`), a label or relationship type (`:COPY`), a map
  key (`{delete: 1}`), a parameter (`$load`), a string or a back-quoted name;
- `CALL` runs a subquery (`CALL { ... }`, whose clauses are checked like the rest) or a procedure /
  table function on an allow-list, matched after unquoting (``CALL `show_tables`()`` is
  `show_tables`); `CALL name = value` (changing a database setting) is refused whatever the name.

It is the first of two locks: the embedded store is also opened read-only (in a child process with a
time and memory limit, graph.stores.worker), and Neo4j queries run in a READ session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.stores.errors import ReadOnlyError, RefusedQueryError

# Procedures and table functions a reader may CALL, lower case, after unquoting. LadybugDB: schema and
# version introspection (its file readers READ_CSV_*, READ_PARQUET, READ_NPY, READ_PANDAS and READ_JSON,
# projected graphs, settings, storage internals and warnings are not here). Neo4j: schema introspection,
# the server's version, and the APOC path expanders and schema summaries, which only read.
LBUG_PROCEDURES = frozenset({
    "show_tables", "table_info", "show_connection", "show_functions", "show_indexes", "db_version",
})
NEO4J_PROCEDURES = frozenset({
    "db.labels", "db.relationshiptypes", "db.propertykeys", "db.schema.visualization",
    "db.schema.nodetypeproperties", "db.schema.reltypeproperties", "db.indexes", "db.constraints",
    "dbms.components",
    "apoc.path.expand", "apoc.path.expandconfig", "apoc.path.subgraphnodes", "apoc.path.subgraphall",
    "apoc.path.spanningtree", "apoc.meta.schema", "apoc.meta.stats",
})
READ_PROCEDURES = LBUG_PROCEDURES | NEO4J_PROCEDURES

# Words that begin a reading statement. Anything else first (SHOW, START, GRANT, CREATE, ...) is refused.
STARTERS = frozenset({"MATCH", "OPTIONAL", "UNWIND", "WITH", "RETURN", "CALL", "EXPLAIN", "PROFILE"})
# Clauses of either dialect that write, read files, load code, switch or attach databases, or control
# transactions; refused wherever they stand as a keyword.
REFUSED = frozenset({
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "FOREACH", "INSERT", "DROP", "ALTER", "RENAME",
    "LOAD", "COPY", "INSTALL", "UNINSTALL", "ATTACH", "USE", "IMPORT", "EXPORT", "CHECKPOINT", "BEGIN",
    "COMMIT", "ROLLBACK", "TRANSACTIONS", "GRANT", "REVOKE", "DENY",
})

MESSAGE = (
    "the Cypher console is read-only: {what} is refused. Ask questions with MATCH ... RETURN; "
    "to change the graph, re-run `crosspath scan` (and `crosspath neo4j push` for Neo4j)."
)


@dataclass(frozen=True)
class Token:
    kind: str  # word, name (back-quoted), string, number, param, punct, end (';')
    text: str  # a word as written, a name unquoted, a punctuation mark
    start: int  # offset in the query


_SPACE = re.compile(r"\s+")
# Where a `//` comment may end in either store's lexer (\n or \r), or in any other line break:
# ending it early only means more of the query is read as code.
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_PUNCT = ("..", "->", "<-", "<>", "<=", ">=", "=~", "+=", "::")


def _where(query: str, offset: int) -> str:
    line = query.count("\n", 0, offset) + 1
    column = offset - (query.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _unterminated(query: str, start: int, what: str) -> RefusedQueryError:
    return RefusedQueryError(f"the query cannot be checked: {what} opened at {_where(query, start)} is never "
                             "closed, so the Cypher console refuses it")


def _quoted(query: str, start: int, quote: str) -> tuple[str, int]:
    """A string literal from `start` (its opening quote): its raw body and the offset after it."""
    i = start + 1
    while i < len(query):
        char = query[i]
        if char == "\\":
            i += 2
            continue
        if char == quote:
            return query[start + 1:i], i + 1
        i += 1
    raise _unterminated(query, start, "a string")


def _backquoted(query: str, start: int) -> tuple[str, int]:
    """A back-quoted name from `start`: its text (a doubled back-quote is one) and the offset after it."""
    parts = []
    i = start
    while i < len(query) and query[i] == "`":
        end = query.find("`", i + 1)
        if end < 0:
            raise _unterminated(query, i, "a back-quoted name")
        parts.append(query[i + 1:end])
        i = end + 1
    return "`".join(parts), i


def _word_end(query: str, start: int) -> int:
    """A word is letters, decimal digits and '_' only: any other character (a superscript digit, a
    currency sign) ends it, so the check never reads one word where a store's lexer reads two."""
    i = start + 1
    while i < len(query) and (query[i].isalpha() or query[i].isdecimal() or query[i] == "_"):
        i += 1
    return i


def tokenize(query: str) -> list[Token]:
    """The query's tokens, comments and white space left out."""
    tokens: list[Token] = []
    i = 0
    size = len(query)
    while i < size:
        char = query[i]
        if char.isspace():
            i = _SPACE.match(query, i).end()
        elif query.startswith("//", i):
            i += 2
            while i < size and query[i] not in _LINE_BREAKS:
                i += 1
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            if end < 0:
                raise _unterminated(query, i, "a /* comment")
            i = end + 2
        elif char in "'\"":
            text, end = _quoted(query, i, char)
            tokens.append(Token("string", text, i))
            i = end
        elif char == "`":
            text, end = _backquoted(query, i)
            tokens.append(Token("name", text, i))
            i = end
        elif char == "$":
            if query.startswith("`", i + 1):
                text, end = _backquoted(query, i + 1)
            else:
                end = _word_end(query, i)  # $name, $0; a lone '$' is a parameter with no name
                text = query[i + 1:end]
            tokens.append(Token("param", text, i))
            i = end
        elif char == ";":
            tokens.append(Token("end", ";", i))
            i += 1
        elif char.isalpha() or char == "_":
            end = _word_end(query, i)
            tokens.append(Token("word", query[i:end], i))
            i = end
        elif (match := _NUMBER.match(query, i)) is not None:
            tokens.append(Token("number", match.group(), i))
            i = match.end()
        else:
            mark = next((p for p in _PUNCT if query.startswith(p, i)), char)
            tokens.append(Token("punct", mark, i))
            i += len(mark)
    return tokens


def _is_punct(token: Token | None, *marks: str) -> bool:
    return token is not None and token.kind == "punct" and token.text in marks


def _keyword_positions(tokens: list[Token]) -> list[bool]:
    """For each token, whether it stands where a keyword can: a bare word that is not a property
    (`n.set`), a cast type (`x::STRING`), a label or relationship type (`:COPY`, `[:A|SET]`) or a map key
    (`{delete: 1}`)."""
    keyword = [False] * len(tokens)
    label = [False] * len(tokens)  # a name after ':' (or after '|' in a chain of them)
    braces: list[str] = []
    for index, token in enumerate(tokens):
        before = tokens[index - 1] if index else None
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.kind == "punct" and token.text in "([{":
            braces.append(token.text)
        elif token.kind == "punct" and token.text in ")]}" and braces:
            braces.pop()
        if token.kind not in ("word", "name"):
            continue
        if _is_punct(before, ":") or (_is_punct(before, "|") and index >= 2 and label[index - 2]):
            label[index] = True
            continue
        if token.kind == "name" or _is_punct(before, ".", "::"):
            continue
        if braces and braces[-1] == "{" and _is_punct(after, ":"):
            continue
        keyword[index] = True
    return keyword


def _procedure(tokens: list[Token], index: int) -> tuple[str, int]:
    """The dotted procedure name starting at tokens[index], unquoted and lower case, and the index after it."""
    parts = [tokens[index].text]
    index += 1
    while (index + 1 < len(tokens) and _is_punct(tokens[index], ".")
           and tokens[index + 1].kind in ("word", "name")):
        parts.append(tokens[index + 1].text)
        index += 2
    return ".".join(parts).lower(), index


def _check_call(tokens: list[Token], index: int) -> None:
    target = tokens[index + 1] if index + 1 < len(tokens) else None
    if target is None:
        raise RefusedQueryError("the Cypher console refuses CALL with nothing to call")
    if _is_punct(target, "{", "("):
        return  # a subquery (CALL { ... }, Neo4j's CALL (x) { ... }): its tokens are checked with the rest
    if target.kind not in ("word", "name"):
        raise ReadOnlyError(MESSAGE.format(what=f"CALL {target.text}"))
    name, after = _procedure(tokens, index + 1)
    if after < len(tokens) and _is_punct(tokens[after], "=", "+="):
        raise ReadOnlyError(MESSAGE.format(what=f"CALL {name}=... (changing a database setting)"))
    if name not in READ_PROCEDURES:
        allowed = ", ".join(sorted(LBUG_PROCEDURES)) + "; on Neo4j " + ", ".join(sorted(NEO4J_PROCEDURES))
        raise ReadOnlyError(MESSAGE.format(
            what=f"CALL {name} (only these procedures and table functions may be called: {allowed})"))


def check_query(query: str) -> str:
    """The one statement of `query`, without its trailing ';', if the console may run it.

    Raises RefusedQueryError (ReadOnlyError for anything that writes, reads files or changes settings)
    naming what is refused."""
    tokens = tokenize(query)
    ends = [i for i, token in enumerate(tokens) if token.kind == "end"]
    if ends and ends[0] != len(tokens) - 1:
        extra = tokens[ends[0] + 1]
        raise RefusedQueryError(
            f"the Cypher console runs exactly one statement: the text after ';' at "
            f"{_where(query, tokens[ends[0]].start)} ({extra.text!r} ...) is refused; send statements one at a time")
    text = query[:tokens[ends[0]].start] if ends else query
    if ends:
        tokens = tokens[:-1]
    if not tokens:
        raise RefusedQueryError("the query is empty: write a statement such as MATCH (n) RETURN n LIMIT 5")
    keyword = _keyword_positions(tokens)
    for index, token in enumerate(tokens):
        if not keyword[index]:
            continue
        word = token.text.upper()
        if word in REFUSED:
            if word == "LOAD" and index + 1 < len(tokens) and tokens[index + 1].text.upper() in ("CSV", "FROM"):
                word = f"LOAD {tokens[index + 1].text.upper()}"
            raise ReadOnlyError(MESSAGE.format(what=word))
        if word == "CALL":
            _check_call(tokens, index)
    first = tokens[0]
    if not keyword[0] or first.text.upper() not in STARTERS:
        raise ReadOnlyError(MESSAGE.format(
            what=f"a statement starting with {first.text!r} (a query starts with MATCH, OPTIONAL MATCH, UNWIND, "
                 "WITH, RETURN or CALL)"))
    return text


def refuse_writes(query: str) -> str:
    """Raise RefusedQueryError / ReadOnlyError for any query the console must not run (see the module
    docstring); otherwise return the statement to run (`query` without a trailing ';')."""
    return check_query(query)

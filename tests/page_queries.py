"""Query counts of the pages people load often: flat in the data, pinned, each table read once.

``flat_page`` (a fixture of ``tests/conftest.py``) loads a page, grows the data it lists or
aggregates, loads it again and asserts that the second load makes exactly as many queries as
the first; then it pins that number with ``django_assert_max_num_queries``. A page whose queries
grow with its rows (an N+1) fails the equality; one that gains a query fails the pin.

``tables_read_twice`` names the tables that two SELECTs of one page read: a dashboard reads
each table once, apart from the reads of the request itself and of the access checks
(:data:`REQUEST_TABLES`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext

# Tables a page may read more than once because the request and the access checks read them,
# not the page's content:
REQUEST_TABLES = {
    # The session middleware loads the session; the idempotency and messages machinery may
    # read or write it again.
    "django_session": "the session of the request",
    # request.user, then the owner or creator named on a study, project or job.
    "accounts_user": "the logged-in user and the people a page names",
    # access_study / may_edit_study / study_role each ask whether the user is a member and
    # with which role: one small indexed read per check.
    "accounts_studymember": "study membership and role checks",
    # access_project_membership and the back links ask the same of a project.
    "annotation_projectmember": "project membership checks",
    # ``has_perm`` (may this user create studies?): Django's model backend reads the user's
    # own permissions and their groups' in two SELECTs, once per request.
    "auth_permission": "the user's permissions (two SELECTs in Django's model backend)",
    "django_content_type": "joined by those two permission reads",
    # The access helpers fetch the object they guard, then the page reads its own rows.
    "accounts_study": "the study an access check fetches with its object",
}

# The home page: the rater's memberships and project invitations (``annotation`` partial) and
# the researcher's study cards read the projects for different rows.
HOME = {
    "annotation_project": "the rater's memberships and invitations name their projects "
    "(joined); the study cards list the projects of the researcher's studies",
}

_TABLE = re.compile(r'\b(?:FROM|JOIN)\s+"?([a-z_][a-z0-9_]*)"?', re.IGNORECASE)


def selected_tables(sql: str) -> set[str]:
    """The tables a SELECT reads (its FROM and JOIN clauses, subqueries included)."""
    return set(_TABLE.findall(sql))


def tables_read_twice(queries: list[dict], *, allowed=REQUEST_TABLES) -> dict[str, list[str]]:
    """``{table: [the SELECTs that read it]}`` for each table read by more than one SELECT,
    leaving out the tables ``allowed`` names."""
    readers: dict[str, list[str]] = {}
    for query in queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        for table in selected_tables(sql):
            readers.setdefault(table, []).append(sql)
    return {t: sqls for t, sqls in readers.items() if len(sqls) > 1 and t not in allowed}


def page_sql(client, url: str, *, status: int = 200) -> list[dict]:
    """The queries one GET of ``url`` makes (asserting its status)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return list(captured.captured_queries)


def describe(queries: list[dict]) -> str:
    """The queries, one a line (for an assertion's message)."""
    return "\n".join(f"{i:3d} {q['sql'][:300]}" for i, q in enumerate(queries, 1))


def _shape(queries: list[dict]) -> Counter:
    """How many queries read each table (to show what grew)."""
    counts: Counter = Counter()
    for query in queries:
        for table in selected_tables(query["sql"]) or {"-"}:
            counts[table] += 1
    return counts


def make_flat_page(django_assert_max_num_queries) -> Callable[..., int]:
    def flat_page(
        client,
        url: str,
        grow: Callable[[], str | None],
        *,
        pinned: int | dict[str, int],
        warm: bool = True,
        read_once: bool | dict[str, str] = False,
    ) -> int:
        """Load ``url``, ``grow()`` the data, load it again: the same number of queries, at
        most ``pinned`` (a number, or one per database vendor). ``grow`` may return another
        address: the same page of a larger object (a survey with more questions, say), which
        is then loaded (and warmed) instead. With ``read_once`` the page
        must also read no table twice (:func:`tables_read_twice`); a dict names the tables this
        page may read twice, each with the reason. Returns the count."""
        if warm:
            page_sql(client, url)  # the first visit's one-off work (a lease, the session)
        small = page_sql(client, url)
        url = grow() or url
        if warm:
            page_sql(client, url)
        large = page_sql(client, url)
        grown = _shape(large) - _shape(small)
        assert len(large) == len(small), (
            f"{url}: {len(small)} queries, then {len(large)} with more data; "
            f"grew on {dict(grown)}\n{describe(large)}"
        )
        if read_once is not False:  # an empty dict too: nothing read twice
            allowed = {**REQUEST_TABLES, **(read_once if isinstance(read_once, dict) else {})}
            twice = tables_read_twice(large, allowed=allowed)
            assert not twice, f"{url} reads {sorted(twice)} more than once:\n" + "\n".join(
                f"{table}:\n  " + "\n  ".join(sql[:400] for sql in sqls)
                for table, sqls in twice.items()
            )
        limit = pinned if isinstance(pinned, int) else pinned[connection.vendor]
        with django_assert_max_num_queries(limit):
            assert client.get(url).status_code == 200
        return len(large)

    return flat_page

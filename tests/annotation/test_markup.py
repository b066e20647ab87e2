"""Guidelines Markdown: rendered, then cleaned by an allow-list (annotation.markup)."""

from __future__ import annotations

import pytest

from annotation.markup import clean_html, guidelines_html


def test_attr_list_style_overlay_is_not_applied():
    # The reported page: an attr_list block that drew a fixed overlay over the guidelines.
    html = guidelines_html(
        "# Rules\n\nRead this.\n"
        '{: style="position:fixed;inset:0;z-index:99" onclick="steal()" .overlay #main }\n'
    )
    assert html == (
        '<h2 id="rules">Rules</h2>\n'
        "<p>Read this.\n"
        '{: style="position:fixed;inset:0;z-index:99" onclick="steal()" .overlay #main }</p>'
    )
    # attr_list is not enabled: the braces stay text and set no attribute on any element.
    assert "<p style" not in html and "class=" not in html and 'id="main"' not in html


def test_entity_encoded_and_mixed_case_javascript_urls_are_removed():
    html = guidelines_html(
        "[a](&#106;avascript:alert(1)) [b](jav&#x09;ascript:alert(2)) "
        "[c](JaVaScRiPt:alert(3)) [d](data:text/html;base64,PHNjcmlwdD4=) "
        "![e](javascript:alert(4)) [ok](https://example.org/) [rel](/help) [top](#rules) "
        "[mail](mailto:team@example.org)"
    )
    assert html == (
        '<p><a>a</a> <a>b</a> <a>c</a> <a>d</a> <img alt="e"> '
        '<a href="https://example.org/">ok</a> <a href="/help">rel</a> '
        '<a href="#rules">top</a> <a href="mailto:team@example.org">mail</a></p>'
    )


def test_event_handlers_styles_and_unknown_tags_are_removed_by_the_cleaner():
    html = clean_html(
        '<p onclick="x()" style="position:fixed" class="c" id="main">hi'
        '<img src="/a.png" onerror="x()" alt="a"><script>alert(1)</script>'
        '<iframe src="https://example.org"></iframe><svg onload="x()"></svg>'
        '<a href="https://example.org" onmouseover="x()" target="_blank">l</a></p>'
    )
    assert html == '<p>hi<img src="/a.png" alt="a"><a href="https://example.org">l</a></p>'


def test_headings_keep_their_toc_anchors_and_tables_align_without_style():
    html = guidelines_html(
        "# Rules\n\n[TOC]\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\nNote[^1]\n\n[^1]: x\n"
    )
    assert '<h2 id="rules">Rules</h2>' in html
    assert '<li><a href="#rules">Rules</a></li>' in html
    assert '<th align="left">a</th>' in html and '<td align="right">2</td>' in html
    assert '<sup id="fnref:1"><a href="#fn:1">1</a></sup>' in html
    assert '<li id="fn:1">' in html
    assert "style" not in html and "class" not in html


@pytest.mark.django_db
def test_the_guidelines_page_carries_no_attribute_from_the_markdown(client, study, researcher):
    from tests.annotation.factories import emotion_project, raters

    project = emotion_project(
        study=study,
        user=researcher,
        guidelines=(
            '# Rules\n\nListen.\n{: style="position:fixed;inset:0" onclick="x()" }\n\n'
            "[help](&#x6A;avascript:alert(1))\n"
        ),
    )
    (ana,) = raters(project, 1, prefix="ana")
    client.force_login(ana)
    response = client.get(f"/annotation/projects/{project.id}/guidelines/")
    assert response.status_code == 200
    body = response.content.decode()
    article = body[body.index('<article class="card">') : body.index("</article>")]
    assert article == (
        '<article class="card"><h2 id="rules">Rules</h2>\n'
        "<p>Listen.\n"
        '{: style="position:fixed;inset:0" onclick="x()" }</p>\n'
        "<p><a>help</a></p>"
    )

"""Article pages for full-text tests: a body wrapped in the chrome real news pages carry
(navigation, ads, share bar, related articles, comments, footer)."""

from __future__ import annotations

from html import escape

NAV = "首页 财经 科技 体育 娱乐 汽车 房产 博客 视频 新闻中心导航"
AD = "广告：点击领取新人专享红包，立即下载客户端赢取大奖"
RELATED = ["相关阅读：央行宣布降准0.25个百分点", "相关阅读：多地出台楼市新政稳定预期"]
COMMENTS = ["网友甲：这篇文章写得不错，支持一下", "网友乙：楼上说得对，期待后续报道"]
FOOTER = "版权所有 1996-2026 示例新闻网 京ICP证000000号 举报电话：12345"
CHROME_TEXTS = (NAV, AD, *RELATED, *COMMENTS, FOOTER)


def article_page(
    title: str, body: str, *, charset: str = "utf-8", body_id: str = "artibody",
    meta: str = "charset",
) -> bytes:
    """A page in `charset` that declares it only in a <meta> (`meta="charset"` or "http-equiv")."""
    declaration = (f'<meta charset="{charset}">' if meta == "charset" else
                   f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">')
    related = "".join(f'<li><a href="/r{i}">{escape(t)}</a></li>' for i, t in enumerate(RELATED))
    comments = "".join(f'<div class="comment"><p>{escape(c)}</p></div>' for c in COMMENTS)
    page = f"""<!DOCTYPE html><html><head>{declaration}<title>{escape(title)}_示例新闻网</title>
<script>var ad_slots = ["top", "side"];</script><style>.nav {{ color: red }}</style></head>
<body><div class="header"><ul class="nav"><li><a href="/">{NAV}</a></li></ul></div>
<div class="ad-banner"><a href="/ad">{AD}</a></div>
<div class="main"><h1 class="title">{escape(title)}</h1><div class="share">分享到：微博 微信</div>
<div id="{body_id}" class="article">{body}</div>
<div class="related"><h3>相关文章</h3><ul>{related}</ul></div>
<div class="comments"><h3>评论</h3>{comments}</div></div>
<div class="footer"><p>{FOOTER}</p></div></body></html>"""
    return page.encode(charset)


def summary_feed(items: list[dict[str, str]], title: str = "摘要源") -> bytes:
    """An RSS feed of summary-only items: dicts with title, link, summary, optional category."""
    parts = []
    for i, item in enumerate(items):
        category = f"<category>{item['category']}</category>" if item.get("category") else ""
        parts.append(f"""<item><title>{escape(item['title'])}</title><link>{escape(item['link'])}</link>
<guid isPermaLink="false">entry-{i}-{escape(item['link'])}</guid>
<pubDate>Mon, 26 Sep 2022 0{i}:00:00 GMT</pubDate>{category}
<description><![CDATA[{item['summary']}]]></description></item>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>
<link>http://example.test/</link><description>summaries</description>{"".join(parts)}</channel></rss>""".encode()

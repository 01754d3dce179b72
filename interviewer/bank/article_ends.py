"""Where the answers of an article end: paragraphs, attached blocks and closing text.

Nothing marks where the last answer of an article stops and the closing text (greetings,
teasers for the next article, related posts) begins. Two signs are used: when the other
answers are one paragraph each (with the lists, tables and code attached to it), the last one
is taken to be one paragraph too; and a paragraph with a sign-off phrase ends it anyway.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

# An answer label ("答案:", "**A:**", "41、答案：", "A41:"); shared with the question parser.
ANSWER_LABEL = re.compile(
    r"^[ \t]*(?:\d{1,4}[ \t]*[、.．)）][ \t]*)?(?:\*\*)?[ \t]*"
    r"(?:参考答案|答案|回答|解答|答|A|Answer|Ans)[ \t]*(?P<n>\d{1,4})?[ \t]*(?:\*\*)?[ \t]*[:：]"
    r"[ \t]*(?:\*\*)?[ \t]*",
    re.I,
)
# Sign-off phrases that start the closing text of an article.
CLOSING = re.compile(
    r"以上就是|今天的.{0,8}就(整理|分享|介绍)?到这里|点赞|收藏|关注我|我们下期|下期再见|转载|版权|"
    r"thanks for reading|that's all|that is all|subscribe|share this|leave a comment|good luck|"
    r"happy (learning|coding)|see you (next|in the next)|related (posts|articles)?:",
    re.I,
)
# A block that carries on the paragraph before it rather than starting a new one.
ATTACHED = re.compile(r"^([ \t]+\S|[-*+][ \t]|\d{1,3}[.)、．][ \t]?\S|\||>|```|~~~)")


Block = tuple[int, int]  # [start, end) line indexes


def last_answer_end(
    lines: Sequence[str], span: Block, others: Sequence[Block], code: set[int]
) -> int:
    """The line index where the last answer (lines ``span``) really ends.

    ``others`` are the line ranges of the other answers; ``code`` the lines in code blocks.
    """
    end = span[1]
    counts = [_paragraphs(lines, _blocks(lines, start, stop, code)) for start, stop in others]
    blocks = _blocks(lines, span[0], end, code)
    if counts and statistics.median(counts) <= 1 and len(blocks) > 1:
        # A label on its own line ("Answer:") is not the paragraph yet.
        keep = 2 if ANSWER_LABEL.fullmatch(lines[blocks[0][0]].rstrip()) else 1

        def continues(k: int) -> bool:
            # Attached to the block before, or a lead-in ("Common ones:") to an attached block.
            if _attached(lines, blocks[k], blocks[k - 1]):
                return True
            lead_in = lines[blocks[k][1] - 1].rstrip().endswith((":", "："))
            return lead_in and k + 1 < len(blocks) and bool(ATTACHED.match(lines[blocks[k + 1][0]]))

        while keep < len(blocks) and continues(keep):
            keep += 1
        if keep < len(blocks):
            end = blocks[keep][0]
            blocks = blocks[:keep]
    # Whatever the other answers look like, sign-off paragraphs are not part of this one.
    closing = next(
        (
            b
            for b in blocks[1:]
            if b[0] not in code and CLOSING.search(" ".join(lines[b[0] : b[1]]))
        ),
        None,
    )
    return closing[0] if closing is not None else end


def _paragraphs(lines: Sequence[str], blocks: Sequence[tuple[int, int]]) -> int:
    count = 0
    for n, block in enumerate(blocks):
        if n == 0 or not _attached(lines, block, blocks[n - 1]):
            count += 1
    return count


def _blocks(lines: Sequence[str], start: int, end: int, code: set[int]) -> list[tuple[int, int]]:
    """Blank-line separated blocks in [start, end); a fenced code block is one block."""
    blocks: list[tuple[int, int]] = []
    i = start
    while i < end:
        if not lines[i].strip() and i not in code:
            i += 1
            continue
        j = i
        while j < end and (lines[j].strip() or j in code):
            j += 1
        blocks.append((i, j))
        i = j
    return blocks


def _attached(lines: Sequence[str], block: tuple[int, int], prev: tuple[int, int]) -> bool:
    first = lines[block[0]]
    return bool(ATTACHED.match(first)) or lines[prev[1] - 1].rstrip().endswith((":", "："))

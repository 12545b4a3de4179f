"""ETT holders' votes in the chat (wallet.polls): each open poll announced to every
account with a linked wallet, with one button per option; "polls", "poll results",
"poll export"; the results sent to the voters when a poll closes.

- `text`: the announcement, the results table and chart, the export's files;
- `handlers`: the feature's routes (buttons and words);
- `notices`: the service's duty that announces polls and sends results (`PollNotices`).
"""

from bot.features.polls.handlers import router
from bot.features.polls.notices import PollNotices

__all__ = ["PollNotices", "router"]

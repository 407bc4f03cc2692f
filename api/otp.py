"""One-time codes to a signer's phone (R-ESIGN identity check): the sender is pluggable, chosen
by FENGQIAO_OTP_SENDER; "console" writes the code to the log for development only."""

from __future__ import annotations

import logging
from typing import Protocol

from api.settings import Settings
from mediation.validation import mask_phone

LOG = logging.getLogger("fengqiao.otp")


class CodeSender(Protocol):
    """Delivers a text message with a one-time code to a phone number (an SMS gateway)."""

    def send(self, phone: str, message: str) -> None: ...


class ConsoleSender:
    """Development: logs the message (and the masked number) instead of sending it."""

    def send(self, phone: str, message: str) -> None:
        LOG.warning("开发用短信（未真实发送）至 %s：%s", mask_phone(phone), message)


SENDERS: dict[str, type[ConsoleSender]] = {"console": ConsoleSender}


def sender_for(settings: Settings) -> CodeSender:
    return SENDERS[settings.otp_sender]()

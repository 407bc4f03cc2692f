"""The documents package's one error tree: a stable machine `code` and a Chinese message each.

    DocumentError
    ├── RenderError              a template or WeasyPrint failed
    │   ├── TemplateDataError    a template parameter is missing (names it)
    │   ├── FontUnavailable      no Noto Serif CJK SC font found through fontconfig
    │   └── SubsetterUnavailable HarfBuzz subsetting is not active (slow fontTools fallback)
    ├── SigningError             pyHanko could not sign, or the PDF has no signature slots
    │   ├── NotASignatory        the signer is not one of the document's signatories
    │   ├── SigningOutOfOrder    an earlier signatory has not signed yet
    │   ├── AlreadySigned        this signatory's field already holds a signature
    │   └── ElectronicSignatureExcluded  R-ESIGN-EXCLUDE: marriage/adoption/inheritance
    ├── CertificateError         the CA or a signer certificate cannot be loaded or issued
    ├── StoreError               the content-addressed store refused (e.g. digest mismatch)
    └── VerificationError        the bytes are not a readable PDF

The API maps DocumentError by `code`; nothing here knows about HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DocumentError(Exception):
    """Base of every error the documents package raises on purpose."""

    code: ClassVar[str] = "document_error"
    title_zh: ClassVar[str] = "文书处理失败"

    def __init__(self, message_zh: str, **fields: Any) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.fields: dict[str, Any] = fields

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view for problem+json bodies and CLI output."""
        return {"code": self.code, "title": self.title_zh, "detail": self.message_zh, **self.fields}


class RenderError(DocumentError):
    code = "document_render_failed"
    title_zh = "文书生成失败"


class TemplateDataError(RenderError):
    code = "document_template_data"
    title_zh = "文书数据不完整"


class FontUnavailable(RenderError):
    code = "document_font_unavailable"
    title_zh = "缺少中文字体"


class SubsetterUnavailable(RenderError):
    code = "document_subsetter_unavailable"
    title_zh = "缺少字体子集化组件"


class SigningError(DocumentError):
    code = "document_signing_failed"
    title_zh = "签名失败"


class NotASignatory(SigningError):
    code = "document_not_a_signatory"
    title_zh = "非本文书签署人"


class SigningOutOfOrder(SigningError):
    code = "document_signing_out_of_order"
    title_zh = "签署顺序不符"


class AlreadySigned(SigningError):
    code = "document_already_signed"
    title_zh = "已经签署"


class ElectronicSignatureExcluded(SigningError):
    code = "document_esign_excluded"
    title_zh = "不适用电子签名"


class CertificateError(DocumentError):
    code = "document_certificate"
    title_zh = "证书错误"


class StoreError(DocumentError):
    code = "document_store"
    title_zh = "文书存储失败"


class VerificationError(DocumentError):
    code = "document_unreadable"
    title_zh = "无法读取文书"

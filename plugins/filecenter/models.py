"""What the 技术支持中心 shows: files an administrator published and the FAQ.

A file's bytes live in the file store (``storage_key``, app/files/storage.py); the row keeps what
the page shows about it (its title, version, size and SHA-256) and the Chinese name it is saved
under. Rows are never deleted: retiring one hides it and keeps who did it and when, as the audit
trail does.
"""
from flask_appbuilder import Model
from sqlalchemy import BigInteger, Column, DateTime, Integer, String, Text

# The kinds of support files, in the order the page shows them. Stored as these codes.
INSTALLER = "installer"
MANUAL = "manual"
VIDEO = "video"
KINDS = (INSTALLER, MANUAL, VIDEO)

PUBLISHED = "published"
RETIRED = "retired"


class SupportItem(Model):
    """A file of the 技术支持中心: 安装程序, 使用手册 or 视频教程."""

    __tablename__ = "support_item"

    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False, index=True)
    title = Column(String(200), nullable=False)
    version = Column(String(32), nullable=False, default="")
    note = Column(Text, nullable=False, default="")
    # The file: the store's key (never user text), what the page shows and the name it is saved as.
    storage_key = Column(String(200), nullable=False)
    filename = Column(String(255), nullable=False)
    size = Column(BigInteger, nullable=False)
    sha256 = Column(String(64), nullable=False)
    content_type = Column(String(100), nullable=False)
    status = Column(String(16), nullable=False, default=PUBLISHED, index=True)
    published_at = Column(DateTime, nullable=False)
    published_by = Column(String(128), nullable=True)
    retired_at = Column(DateTime, nullable=True)
    retired_by = Column(String(128), nullable=True)


class FaqEntry(Model):
    """A question of 常见问题 and its answer (plain text, escaped on the page)."""

    __tablename__ = "support_faq"

    id = Column(Integer, primary_key=True)
    question = Column(String(300), nullable=False)
    answer = Column(Text, nullable=False)
    # Shown in this order (then by id): a new entry goes last.
    position = Column(Integer, nullable=False, default=0)
    updated_at = Column(DateTime, nullable=True)
    updated_by = Column(String(128), nullable=True)

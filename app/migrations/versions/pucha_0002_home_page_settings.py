"""Home page settings

Revision ID: pucha_0002
Revises: pucha_0001
Create Date: 2026-12-02 16:20:45.113804
"""
from alembic import op
import sqlalchemy as sa


revision = 'pucha_0002'
down_revision = 'pucha_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('public_setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade():
    op.drop_table('public_setting')

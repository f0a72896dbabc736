"""Support center items and FAQ

Revision ID: filecenter_0001
Revises: 
Create Date: 2026-12-02 16:20:50.277789
"""
from alembic import op
import sqlalchemy as sa


revision = 'filecenter_0001'
down_revision = None
branch_labels = ('filecenter',)
depends_on = 'pucha_0001'


def upgrade():
    op.create_table('support_faq',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=300), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('support_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by', sa.String(length=128), nullable=True),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.Column('retired_by', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('support_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_item_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_item_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('support_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_item_status'))
        batch_op.drop_index(batch_op.f('ix_support_item_kind'))

    op.drop_table('support_item')
    op.drop_table('support_faq')

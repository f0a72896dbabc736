"""Site verification throttle and the site name index

Revision ID: basic_info_0002
Revises: basic_info_0001
Create Date: 2026-12-02 16:20:47.745357
"""
from alembic import op
import sqlalchemy as sa


revision = 'basic_info_0002'
down_revision = 'basic_info_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('basic_info_site_verify_throttle',
    sa.Column('site_code', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locks', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(), nullable=True),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('site_code', 'address')
    )
    with op.batch_alter_table('basic_info_form', schema=None) as batch_op:
        batch_op.create_index('ix_basic_info_site_name', ['site_name'], unique=False)



def downgrade():
    with op.batch_alter_table('basic_info_form', schema=None) as batch_op:
        batch_op.drop_index('ix_basic_info_site_name')

    op.drop_table('basic_info_site_verify_throttle')

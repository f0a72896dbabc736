"""basic_info: 政府网站和栏目（系统）基本信息表 — hook implementations only."""

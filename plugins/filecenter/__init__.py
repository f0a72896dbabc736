"""filecenter: 技术支持中心 (the public support center: the filler installer, manuals, video
tutorials, the hotline and the FAQ); the 文件中心 of units follows here."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Study, StudyMember, User

admin.site.register(User, UserAdmin)


class StudyMemberInline(admin.TabularInline):
    model = StudyMember
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name"]
    inlines = [StudyMemberInline]
